import { DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from '@infrabox/auth';
import { ClustersModule } from '@infrabox/clusters';
import { InstallConfig, InstallConfigModule, timeoutsOf } from '@infrabox/config';
import { DatabaseModule } from '@infrabox/database';
import { EventsModule } from '@infrabox/events';
import { JobsModule } from '@infrabox/jobs';
import { ObservabilityModule } from '@infrabox/observability';
import { StorageModule } from '@infrabox/storage';
import { DEFAULT_FORWARDER_OPTIONS, FORWARDER_OPTIONS, ForwarderOptions } from './forwarder.options';
import { ImageTransferService } from './images/image-transfer.service';
import { SourceTransferService } from './sources/source-transfer.service';
import { OutputTransferService } from './transfer/output-transfer.service';
import { PeerDownloadClient } from './transfer/peer-download.client';
import { TransferHandlers } from './transfer/transfer.handlers';
import { TransferClaims } from './transfer/transfer-claims';
import { TransferMetrics } from './transfer/transfer.metrics';
import { TransferRoutes } from './transfer/transfer-routes';

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
      providers: [{ provide: FORWARDER_OPTIONS, useValue: { ...DEFAULT_FORWARDER_OPTIONS, idleTimeoutMs: timeoutsOf(config).transferIdleMs, ...overrides } }, PeerDownloadClient, TransferRoutes, TransferClaims, TransferMetrics, OutputTransferService, SourceTransferService, ImageTransferService],
    };
  }
}
