import { randomInt } from 'node:crypto';
import prand, { RandomGenerator } from 'pure-rand';

/**
 * The sweep's seeded generator: every malformed input derives from one seed, printed at the
 * start, so a failure reproduces with `INFRABOX_SWEEP_SEED=<seed> npx jest test/sweep`.
 */
export class SweepRandom {
  private readonly rng: RandomGenerator;

  constructor(readonly seed: number) {
    this.rng = prand.xoroshiro128plus(seed);
  }

  static fromEnvironment(): SweepRandom {
    const given = process.env.INFRABOX_SWEEP_SEED;
    const seed = given === undefined || given === '' ? randomInt(1, 2 ** 31) : Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`INFRABOX_SWEEP_SEED: expected a whole number, got '${given}'`);
    return new SweepRandom(seed);
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return prand.unsafeUniformIntDistribution(min, max, this.rng);
  }

  /**
   * `count` results of `mutations`: each once in order, then picked at random; a result whose
   * `kind` matches `heavy` (slow to build or check) is taken at most `heavyMax` more times.
   */
  cases<M extends { kind: string }>(mutations: ReadonlyArray<(random: SweepRandom) => M>, count: number, heavy: RegExp, heavyMax: number): M[] {
    const made: M[] = [];
    let heavyTaken = 0;
    while (made.length < count) {
      const index = made.length < mutations.length ? made.length : this.int(0, mutations.length - 1);
      const one = mutations[index](this);
      const isHeavy = heavy.test(one.kind);
      if (isHeavy && made.length >= mutations.length && heavyTaken >= heavyMax) continue;
      if (isHeavy) heavyTaken++;
      made.push(one);
    }
    return made;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  chance(probability: number): boolean {
    return this.int(0, 9999) < probability * 10000;
  }

  /** Letters and digits, `length` of them. */
  word(length = this.int(1, 12)): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    return Array.from({ length }, () => alphabet[this.int(0, alphabet.length - 1)]).join('');
  }

  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(0, 255)));
  }

  /** A value of a random JSON type other than the ones in `not`. */
  wrongValue(not: ReadonlyArray<'string' | 'number' | 'boolean' | 'null' | 'array' | 'object'> = []): unknown {
    const makers: Record<string, () => unknown> = {
      string: () => this.pick(['', ' ', this.word(), '\u0000', '../../etc/passwd', 'ünïcødé-☃', '%00', '\ud800']),
      number: () => this.pick([0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2, this.int(-1000, 1000)]),
      boolean: () => this.chance(0.5),
      null: () => null,
      array: () => this.pick([[], [null], [this.word(), 3], [[[]]]]),
      object: () => this.pick([{}, { [this.word()]: this.word() }, { __proto__x: 1 }, { length: 3 }]),
    };
    const kinds = Object.keys(makers).filter((k) => !(not as readonly string[]).includes(k));
    return makers[this.pick(kinds)]();
  }
}

/** `[[[…]]]` (or `{"a":{"a":…}}`) nested `depth` levels, as JSON text. */
export function deeplyNestedJson(depth: number, kind: 'array' | 'object' = 'array'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
