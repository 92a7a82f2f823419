import { Injectable } from '@nestjs/common';
import { Database } from '@infrabox/database';

export interface ConsoleChunk {
  seq: number;
  text: string;
  createdAt: Date;
}

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

  async readAfter(jobId: string, afterSeq: number): Promise<ConsoleChunk[]> {
    return this.db.query<ConsoleChunk>(
      'SELECT seq, text, created_at AS "createdAt" FROM job_console WHERE job_id = $1 AND seq > $2 ORDER BY seq',
      [jobId, afterSeq],
    );
  }
}
