import { BadRequestException } from '@nestjs/common';

/**
 * The fields of a JSON request body: no body, or an object with only the `known` fields; else a
 * 400 naming the problem (a body of another type, the first unknown field).
 */
export function jsonBodyFields<K extends string>(body: unknown, known: readonly K[]): Partial<Record<K, unknown>> {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new BadRequestException(`request body: expected a JSON object, got ${Array.isArray(body) ? 'an array' : typeof body}`);
  }
  const unknown = Object.keys(body).find((key) => !(known as readonly string[]).includes(key));
  if (unknown !== undefined) {
    const shown = JSON.stringify(unknown.length > 60 ? `${unknown.slice(0, 57)}...` : unknown);
    throw new BadRequestException(`${shown}: unknown field (${known.length === 0 ? 'expected none' : `expected ${known.join(', ')}`})`);
  }
  return body as Partial<Record<K, unknown>>;
}
