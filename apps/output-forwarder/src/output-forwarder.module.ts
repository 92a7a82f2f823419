import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@infrabox/auth';
import { ClusterRepository, ClustersModule } from '@infrabox/clusters';
import { CurrentCluster, InstallConfig, InstallConfigModule, timeoutsOf } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';
import { ARTIFACT_KINDS, ArtifactCopyRepository, CopyRecorder, JobsModule } from '@infrabox/jobs';
import { ObservabilityModule } from '@infrabox/observability';
import { StorageModule } from '@infrabox/storage';
import { DEFAULT_FORWARDER_OPTIONS, FORWARDER_OPTIONS, ForwarderOptions } from './forwarder.options';
import { ImageTransferStrategy } from './images/image-transfer.strategy';
import { ArchiveTransferStrategy } from './transfer/archive-transfer.strategy';
import { ArtifactTransferService } from './transfer/artifact-transfer.service';
import { PeerDownloadClient } from './transfer/peer-download.client';
import { TransferHandlers } from './transfer/transfer.handlers';
import { TransferClaims } from './transfer/transfer-claims';
import { TransferMetrics } from './transfer/transfer.metrics';
import { TransferRoutes } from './transfer/transfer-routes';
import { TRANSFER_STRATEGIES, TransferStrategy } from './transfer/transfer.strategy';

/** One strategy per kind of copy: the archives (outputs, sources) through the peer routes, images registry to registry. */
const transferStrategies = {
  provide: TRANSFER_STRATEGIES,
  inject: [CurrentCluster, ArtifactCopyRepository, ClusterRepository, CopyRecorder, PeerDownloadClient, ImageTransferStrategy],
  useFactory: (cluster: CurrentCluster, copies: ArtifactCopyRepository, clusters: ClusterRepository, recorder: CopyRecorder, peers: PeerDownloadClient, images: ImageTransferStrategy): TransferStrategy[] => [
    ...ARTIFACT_KINDS.map((kind) => new ArchiveTransferStrategy(kind, cluster.name, copies, clusters, recorder, peers)),
    images,
  ],
};

@Module({})
export class OutputForwarderModule {
  static forConfig(config: InstallConfig, overrides: Partial<ForwarderOptions> = {}): DynamicModule {
    return {
      module: OutputForwarderModule,
      imports: [
        InstallConfigModule.forRoot(config),
        DatabaseModule,
        EventsModule.forRoot({ app: 'output-forwarder' }),
        ObservabilityModule.forApp({ app: 'output-forwarder' }),
        ClustersModule,
        JobsModule,
        StorageModule,
        AuthModule,
      ],
      controllers: [TransferHandlers],
      providers: [{ provide: FORWARDER_OPTIONS, useValue: { ...DEFAULT_FORWARDER_OPTIONS, idleTimeoutMs: timeoutsOf(config).transferIdleMs, ...overrides } }, PeerDownloadClient, TransferRoutes, TransferClaims, TransferMetrics, ImageTransferStrategy, transferStrategies, ArtifactTransferService],
    };
  }
}
