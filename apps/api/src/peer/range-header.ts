import { BadRequestException } from '@nestjs/common';
import type { ByteRange } from '@infrabox/storage';

/** `bytes=N-` or `bytes=N-M` (HTTP's end is inclusive; ours is exclusive). Other forms are refused. */
export function parseRangeHeader(header: string | undefined): ByteRange | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!match) throw new BadRequestException(`Range: '${header}' is not supported; use bytes=N- or bytes=N-M`);
  const start = Number(match[1]);
  const end = match[2] === '' ? undefined : Number(match[2]) + 1;
  if (end !== undefined && end <= start) throw new BadRequestException(`Range: '${header}' ends before it starts`);
  return { start, end };
}
