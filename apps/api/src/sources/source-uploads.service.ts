import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { readTarFiles } from '@infrabox/archive';
import { CurrentCluster, INSTALL_CONFIG, InstallConfig } from '@infrabox/config';
import { ArtifactCopyRepository, Project, ProjectRepository, uploadKey } from '@infrabox/jobs';
import { InjectObjectStorage, ObjectStorage } from '@infrabox/storage';
import { archiveLimitsOf, assertUploadSize, receiveTar } from '../http/received-tar';
import type { SourceUploadDto } from '@infrabox/contract';
import { SourceUpload, SourceUploadRepository } from './source-upload.repository';

export type ResolvedUpload = SourceUpload;

/** Largest file read out of an upload (an included infrabox.json): the JSON body limit of the api. */
export const MAX_INCLUDED_FILE_BYTES = 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


/**
 * Sources uploaded by `infrabox push`: streamed into this cluster's storage (size and sha256
 * computed on the way), then recorded (`source_upload`: the project, the digest) until a build
 * names the upload and takes it as its source.
 */
@Injectable()
export class SourceUploadsService {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly uploads: SourceUploadRepository,
    private readonly copies: ArtifactCopyRepository,
    @InjectObjectStorage() private readonly storage: ObjectStorage,
    @Inject(INSTALL_CONFIG) private readonly config: InstallConfig,
    private readonly cluster: CurrentCluster,
  ) {}

  findProject(name: string): Promise<Project | null> {
    return this.projects.findByName(name);
  }

  /**
   * Stores the tar of an upload; a body that is no safe, whole tar archive (see `TarChecker`) or
   * is over the size limit is refused (422, 413) and nothing is kept.
   */
  async receive(project: Project, body: Readable, contentLength?: number): Promise<SourceUploadDto> {
    assertUploadSize(contentLength, 'source');
    const uploadId = randomUUID();
    const tar = receiveTar(body, 'source', archiveLimitsOf(this.config));
    const cluster = this.cluster.name;
    const storageKey = uploadKey(cluster, uploadId);
    let stored;
    try {
      stored = await this.storage.put(storageKey, tar.stream, contentLength === undefined ? {} : { contentLength });
    } catch (error) {
      throw tar.problem() ?? error;
    }
    await this.uploads.record({ uploadId, projectId: project.id, cluster, storageKey, size: stored.size, sha256: stored.sha256 });
    return { uploadId, size: stored.size, sha256: stored.sha256 };
  }

  /**
   * Makes the upload (see `resolve`) the source of a new build on this cluster; call in the
   * build's creation transaction.
   */
  async attach(upload: ResolvedUpload, buildId: string): Promise<void> {
    await this.copies.record('source', { id: buildId, cluster: upload.cluster, storageKey: upload.storageKey, size: upload.size, sha256: upload.sha256 });
  }

  /**
   * The text of the files at `paths` (repository paths) in the upload, in one pass over its tar;
   * a file the upload lacks or that cannot be read answers an Error saying why.
   */
  async readFiles(upload: ResolvedUpload, paths: readonly string[]): Promise<Map<string, string | Error>> {
    const found = await readTarFiles(await this.storage.get(upload.storageKey), paths, { maxFileBytes: MAX_INCLUDED_FILE_BYTES });
    return new Map(
      paths.map((path) => {
        const file = found.get(path);
        if (file === undefined) return [path, new Error('no such file in the uploaded source')];
        return [path, 'content' in file ? file.content.toString('utf8') : new Error(file.problem)];
      }),
    );
  }

  /** The upload `uploadId` of project `projectId`; a 400 naming it when there is no such upload. */
  async resolve(uploadId: unknown, projectId: string): Promise<ResolvedUpload> {
    const unknown = () => new BadRequestException(`uploadId: unknown upload '${String(uploadId)}'`);
    if (typeof uploadId !== 'string' || !UUID.test(uploadId)) throw unknown();
    const upload = UUID.test(projectId) ? await this.uploads.find(uploadId, projectId, this.cluster.name) : null;
    if (!upload) throw unknown();
    return upload;
  }
}
