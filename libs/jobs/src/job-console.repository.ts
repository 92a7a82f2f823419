import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

export interface ConsoleChunk {
  seq: number;
  text: string;
  createdAt: Date;
}

/** How much of a console one read answers. */
export interface ConsolePage {
  maxChunks: number;
  maxBytes: number;
}

/** A page of console: at most 500 chunks and about 1 MiB (a 10 MB console is ten reads, not one answer). */
export const CONSOLE_PAGE: ConsolePage = { maxChunks: 500, maxBytes: 1024 * 1024 };

/** SQL for `job_console`: a job's output in chunks, not a row per line. */
@Injectable()
export class JobConsoleRepository {
  constructor(private readonly db: Database) {}

  async append(jobId: string, text: string): Promise<number> {
    const [row] = await this.db.query<{ seq: number }>(
      `INSERT INTO job_console (job_id, seq, text)
       SELECT $1, coalesce(max(seq), 0) + 1, $2 FROM job_console WHERE job_id = $1
       RETURNING seq`,
      [jobId, text],
    );
    return row.seq;
  }

  /** Characters of console text stored for a job (where a re-attached log follower resumes). */
  async textLength(jobId: string): Promise<number> {
    const [row] = await this.db.query<{ length: string }>('SELECT coalesce(sum(char_length(text)), 0) AS length FROM job_console WHERE job_id = $1', [jobId]);
    return Number(row.length);
  }

  /**
   * The chunks after `afterSeq`, in order: one page of at most `maxChunks` chunks and about
   * `maxBytes` bytes (always at least one chunk when there is one). Read again after the last
   * seq for the rest.
   */
  async readAfter(jobId: string, afterSeq: number, page: ConsolePage = CONSOLE_PAGE): Promise<ConsoleChunk[]> {
    return this.db.query<ConsoleChunk>(
      `SELECT seq, text, "createdAt" FROM (
         SELECT seq, text, created_at AS "createdAt", sum(octet_length(text)) OVER (ORDER BY seq) - octet_length(text) AS before
           FROM job_console WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
       ) page WHERE before < $4 ORDER BY seq`,
      [jobId, afterSeq, page.maxChunks, page.maxBytes],
    );
  }
}
