import { chmod, mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { packDirectory, unpackTar } from '@infrabox/archive';
import { EMPTY_OUTPUT_REPORT, OutputReport } from './output-report';
import { inputFolder, SandboxFolders } from './job-sandbox.layout';

/** An archive to unpack into the sandbox, with what it must be (checked before any file is visible). */
export interface StagedArchive {
  open(): Promise<Readable>;
  sha256?: string;
  size?: number;
}

/** Where the packed output goes: stores the stream and answers what was stored. */
export type OutputSink = (packed: Readable) => Promise<{ size: number; sha256: string }>;

/**
 * Stage in and stage out, the same for every executor: the folders created, the source into
 * `context`, each parent's output into `inputs/<name>` (verified, unpacked into a temporary
 * folder first — libs/archive — so a job never sees a partial input), and the output packed
 * and stored; an empty output stores nothing and reports the empty-output digest.
 */
export class SandboxStaging {
  constructor(readonly folders: SandboxFolders) {}

  /** Creates every folder of the layout; writable by any user (the job's image may run as another). */
  async create(): Promise<void> {
    const { context, inputs, output, cache, upload } = this.folders;
    await Promise.all([context, inputs, output, cache, upload].map((dir) => mkdir(dir, { recursive: true })));
    await Promise.all([context, output, cache, upload].map((dir) => chmod(dir, 0o777)));
  }

  async stageSource(archive: StagedArchive | null): Promise<void> {
    if (!archive) return;
    await unpackTar(await archive.open(), this.folders.context, { expectedSha256: archive.sha256, expectedSize: archive.size });
    await chmod(this.folders.context, 0o777);
  }

  /** A parent without output (null, or size 0) gets an empty folder. */
  async stageInput(parentName: string, archive: StagedArchive | null): Promise<void> {
    const dest = inputFolder(this.folders, parentName);
    if (!archive || archive.size === 0) {
      await mkdir(dest, { recursive: true });
      return;
    }
    await mkdir(path.dirname(dest), { recursive: true });
    await unpackTar(await archive.open(), dest, { expectedSha256: archive.sha256, expectedSize: archive.size });
  }

  /** Packs `output` into the sink; an empty folder stores nothing. The sink's answer is checked against what was sent. */
  async stageOut(sink: OutputSink): Promise<OutputReport> {
    const entries = await readdir(this.folders.output).catch(() => []);
    if (entries.length === 0) return { ...EMPTY_OUTPUT_REPORT };
    const packed = packDirectory(this.folders.output);
    let stored: { size: number; sha256: string };
    try {
      [stored] = await Promise.all([sink(packed.stream), packed.done]);
    } catch (error) {
      packed.stream.destroy();
      throw error;
    }
    const sent = await packed.done;
    if (stored.size !== sent.size || stored.sha256 !== sent.sha256) {
      throw new Error(`the output was stored as ${stored.size} bytes (sha256 ${stored.sha256}), but ${sent.size} bytes (sha256 ${sent.sha256}) were sent`);
    }
    return { stored: true, size: stored.size, sha256: stored.sha256 };
  }

  /** Deletes the sandbox's folders (once its output is stored). */
  async remove(): Promise<void> {
    await rm(this.folders.root, { recursive: true, force: true });
  }
}
