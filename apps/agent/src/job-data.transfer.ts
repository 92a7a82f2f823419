import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { packDirectory, unpackTar } from '@infrabox/archive';
import { HEADERS, ROUTES, type StoredOutputDto, TAR_CONTENT_TYPE } from '@infrabox/contract';
import { EMPTY_OUTPUT_REPORT, OutputReport, sandboxFolders } from '@infrabox/job-sandbox';
import { cappedText, CommandFailure, describeFetchFailure, HttpClient, HttpFailure, type HttpRequestInit } from '@infrabox/toolkit';

/** What `upload-output` reports (as its container's termination message) for the scheduler to record. */
export type UploadReport = OutputReport;

/** Where a job's pod keeps its files (one emptyDir shared by its containers): the job sandbox's layout. */
const jobFolders = sandboxFolders;

export interface ParentInput {
  id: string;
  name: string;
}

/**
 * A running job's side of the job-data API (`/api/v1/jobs/:id/...`), called with its own job
 * token: the build's source and its parents' outputs in, its own output out. Archives are
 * checked against the size and sha256 the API sends and unpacked atomically (libs/archive).
 */
export class JobDataTransfer {
  private readonly http: HttpClient;

  constructor(
    private readonly apiUrl: string,
    token: string,
    private readonly jobId: string,
  ) {
    this.http = new HttpClient(apiUrl, token);
  }

  /** Unpacks the build's source into `<root>/context` and each parent's output into `<root>/inputs/<name>`. */
  async fetchInputs(root: string, withSource: boolean, parents: readonly ParentInput[]): Promise<void> {
    const folders = jobFolders(root);
    await mkdir(folders.output, { recursive: true });
    await mkdir(folders.inputs, { recursive: true });
    if (withSource) await this.unpack(ROUTES.jobData.source(this.jobId), folders.context, 'the build source', false);
    else await mkdir(folders.context, { recursive: true });
    for (const parent of parents) {
      await this.unpack(ROUTES.jobData.input(this.jobId, parent.id), path.join(folders.inputs, parent.name), `the output of '${parent.name}'`, true);
    }
    // The job's image may run as another user than this one: it must be able to write here.
    await Promise.all([chmod(folders.context, 0o777), chmod(folders.output, 0o777)]);
  }

  /** Packs `<root>/output` and stores it as the job's output; an empty folder stores nothing. */
  async uploadOutput(root: string): Promise<UploadReport> {
    const dir = jobFolders(root).output;
    const entries = await readdir(dir).catch(() => []);
    if (entries.length === 0) return { ...EMPTY_OUTPUT_REPORT };
    const packed = packDirectory(dir);
    const route = ROUTES.jobData.output(this.jobId);
    const response = await this.send(route, { method: 'PUT', headers: { 'content-type': TAR_CONTENT_TYPE }, body: packed.stream });
    if (response.status !== 201) throw new CommandFailure(`PUT ${route} answered HTTP ${response.status}: ${await cappedText(response)}`);
    const answer = await response.text();
    const summary = await packed.done;
    const stored = JSON.parse(answer) as StoredOutputDto;
    if (stored.size !== summary.size || stored.sha256 !== summary.sha256) {
      throw new CommandFailure(`the API stored ${stored.size} bytes (sha256 ${stored.sha256}), the job sent ${summary.size} (sha256 ${summary.sha256})`);
    }
    return { stored: true, size: stored.size, sha256: stored.sha256 };
  }

  /** `optional`: a parent that never stored an output (404, as the process executor sees it) is an empty folder. */
  private async unpack(route: string, dest: string, what: string, optional: boolean): Promise<void> {
    const response = await this.send(route);
    if (optional && response.status === 404) {
      await response.body?.cancel();
      await mkdir(dest, { recursive: true });
      return;
    }
    if (response.status !== 200 || !response.body) {
      throw new CommandFailure(`fetching ${what}: GET ${route} answered HTTP ${response.status}: ${await cappedText(response)}`);
    }
    const size = Number(response.headers.get(HEADERS.archiveSize));
    const sha256 = response.headers.get(HEADERS.archiveSha256) ?? undefined;
    if (size === 0) {
      await response.body.cancel();
      await mkdir(dest, { recursive: true });
      return;
    }
    try {
      await unpackTar(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), dest, {
        expectedSha256: sha256,
        expectedSize: Number.isInteger(size) ? size : undefined,
      });
    } catch (error) {
      throw new CommandFailure(`unpacking ${what}: ${describeFetchFailure(error)}`);
    }
  }

  private async send(route: string, init?: HttpRequestInit): Promise<Response> {
    try {
      return await this.http.send(route, init);
    } catch (error) {
      if (!(error instanceof HttpFailure)) throw error;
      throw new CommandFailure(`cannot reach the InfraBox API at ${this.apiUrl}: ${error.message}`);
    }
  }
}

/** Writes the report where Kubernetes reads a container's termination message (or any file). */
export async function writeReport(file: string, report: UploadReport): Promise<void> {
  await writeFile(file, JSON.stringify(report));
}
