import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { packDirectory, unpackTar } from '@infrabox/archive';
import { EMPTY_OUTPUT_REPORT, OutputReport, sandboxFolders } from '@infrabox/job-sandbox';
import { CliError } from '../cli-error';

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
  constructor(
    private readonly apiUrl: string,
    private readonly token: string,
    private readonly jobId: string,
  ) {}

  /** Unpacks the build's source into `<root>/context` and each parent's output into `<root>/inputs/<name>`. */
  async fetchInputs(root: string, withSource: boolean, parents: readonly ParentInput[]): Promise<void> {
    const folders = jobFolders(root);
    await mkdir(folders.output, { recursive: true });
    await mkdir(folders.inputs, { recursive: true });
    if (withSource) await this.unpack(`/api/v1/jobs/${this.jobId}/source`, folders.context, 'the build source');
    else await mkdir(folders.context, { recursive: true });
    for (const parent of parents) {
      await this.unpack(`/api/v1/jobs/${this.jobId}/inputs/${parent.id}`, path.join(folders.inputs, parent.name), `the output of '${parent.name}'`);
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
    const route = `/api/v1/jobs/${this.jobId}/output`;
    let response: Response;
    try {
      response = await fetch(`${this.apiUrl}${route}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/x-tar' },
        body: Readable.toWeb(packed.stream) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
    } catch (error) {
      packed.stream.destroy();
      throw new CliError(`cannot reach the InfraBox API at ${this.apiUrl}: ${describe(error)}`);
    }
    const answer = await response.text();
    if (response.status !== 201) throw new CliError(`PUT ${route} answered HTTP ${response.status}: ${answer.slice(0, 500)}`);
    const summary = await packed.done;
    const stored = JSON.parse(answer) as { size: number; sha256: string };
    if (stored.size !== summary.size || stored.sha256 !== summary.sha256) {
      throw new CliError(`the API stored ${stored.size} bytes (sha256 ${stored.sha256}), the job sent ${summary.size} (sha256 ${summary.sha256})`);
    }
    return { stored: true, size: stored.size, sha256: stored.sha256 };
  }

  private async unpack(route: string, dest: string, what: string): Promise<void> {
    let response: Response;
    try {
      response = await fetch(`${this.apiUrl}${route}`, { headers: { authorization: `Bearer ${this.token}` } });
    } catch (error) {
      throw new CliError(`cannot reach the InfraBox API at ${this.apiUrl}: ${describe(error)}`);
    }
    // A parent that never stored an output (as the process executor sees it): an empty folder.
    if (response.status === 404 && route.includes('/inputs/')) {
      await response.body?.cancel();
      await mkdir(dest, { recursive: true });
      return;
    }
    if (response.status !== 200 || !response.body) {
      throw new CliError(`fetching ${what}: GET ${route} answered HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`);
    }
    const size = Number(response.headers.get('x-infrabox-size'));
    const sha256 = response.headers.get('x-infrabox-sha256') ?? undefined;
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
      throw new CliError(`unpacking ${what}: ${describe(error)}`);
    }
  }
}

/** Writes the report where Kubernetes reads a container's termination message (or any file). */
export async function writeReport(file: string, report: UploadReport): Promise<void> {
  await writeFile(file, JSON.stringify(report));
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
