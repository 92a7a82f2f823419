import { craftTar, CraftedEntry, END_OF_ARCHIVE, rawHeader } from '../support/archive';
import { SweepRandom } from './sweep-random';

/** One malformed or hostile tar stream and what its refusal must say. */
export interface ArchiveCase {
  label: string;
  bytes: Buffer;
  /** The error message must match. */
  expectError: RegExp;
}

const ESCAPES = ['../x', '../../../../tmp/pwned', 'a/../../x', './../x', 'a/b/../../../x', '..', 'ok/../..'];
const ABSOLUTE = ['/etc/passwd', '/tmp/pwned', '//x', '/'];

const file = (name: string, content: string | Buffer = 'x'): CraftedEntry => ({ name, content });

/** A raw ustar header whose name field holds exactly `nameBytes` (which may be invalid UTF-8). */
function rawNamedFile(nameBytes: Buffer, content: Buffer): Buffer {
  const header = rawHeader({ name: 'placeholder', typeflag: '0', size: content.length });
  header.fill(0, 0, 100);
  nameBytes.copy(header, 0, 0, Math.min(100, nameBytes.length));
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  const padded = Buffer.alloc(Math.ceil(content.length / 512) * 512);
  content.copy(padded);
  return Buffer.concat([header, padded]);
}

const MUTATIONS: Array<(r: SweepRandom) => Promise<{ kind: string; bytes: Buffer; expectError: RegExp }>> = [
  async (r) => ({ kind: 'entry with ..', bytes: await craftTar([file('ok.txt'), file(r.pick(ESCAPES))]), expectError: /path leaves the destination|path is the destination itself/ }),
  async (r) => ({ kind: 'absolute entry', bytes: await craftTar([file(r.pick(ABSOLUTE))]), expectError: /path is absolute/ }),
  async (r) => ({ kind: 'directory with ..', bytes: await craftTar([{ name: `${r.pick(ESCAPES)}/`, type: 'directory' }]), expectError: /path leaves the destination|path is the destination itself/ }),
  async (r) => ({
    kind: 'symlink out',
    bytes: await craftTar([{ name: `link${r.word(3)}`, type: 'symlink', linkname: r.pick(['../outside', '/etc/passwd', 'a/../../x', '../../../../../../tmp']) }]),
    expectError: /symlink target .* (leaves the destination|is absolute)/,
  }),
  async (r) => ({
    kind: 'symlink chain out',
    bytes: await craftTar([{ name: 'a', type: 'symlink', linkname: '.' }, { name: 'b', type: 'symlink', linkname: `a/${r.pick(['..', '../x', 'a/..'])}` }]),
    expectError: /symlink target .* leaves the destination/,
  }),
  async (r) => ({
    kind: 'write through a symlink',
    bytes: await craftTar([{ name: 'd', type: 'symlink', linkname: r.pick(['sub', '.']) }, { name: 'sub/', type: 'directory' }, file(`d/${r.word(4)}`)]),
    expectError: /path goes through the symlink/,
  }),
  async (r) => ({
    kind: 'hardlink out',
    bytes: await craftTar([file('f'), { name: `h${r.word(3)}`, type: 'link', linkname: r.pick(['../f', '/etc/passwd', 'a/../../f', 'missing']) }]),
    expectError: /hardlink target .* (leaves the destination|is absolute|is not in the archive)/,
  }),
  async (r) => ({ kind: 'device', bytes: await craftTar([{ name: `dev${r.word(2)}`, type: r.pick(['character-device', 'block-device'] as const) }]), expectError: /device files are not allowed/ }),
  async (r) => ({ kind: 'FIFO', bytes: await craftTar([file('a'), { name: `fifo${r.word(2)}`, type: 'fifo' }]), expectError: /FIFOs are not allowed/ }),
  async (r) => ({
    kind: 'NUL in a name',
    bytes: await craftTar([{ name: 'placeholder', content: 'x', pax: { path: r.pick(['a\0b', 'ok\0/../../x', '\0']) } }]),
    expectError: /NUL byte/,
  }),
  async (r) => ({
    kind: 'NUL in a link target',
    bytes: await craftTar([{ name: 'l', type: 'symlink', linkname: 'x', pax: { linkpath: 'a\0../../b' } }]),
    expectError: /NUL byte/,
  }),
  async (r) => {
    const bad = r.pick([Buffer.from([0xff, 0xfe]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0x80])]);
    const name = Buffer.concat([Buffer.from(`n${r.word(3)}`), bad, Buffer.from('.txt')]);
    return { kind: 'invalid UTF-8 in a name', bytes: Buffer.concat([rawNamedFile(name, Buffer.from('x')), END_OF_ARCHIVE]), expectError: /not valid UTF-8/ };
  },
  async (r) => {
    const tar = await craftTar(Array.from({ length: r.int(1, 5) }, (_, i) => file(`f${i}`, r.bytes(r.int(0, 3000)))));
    const cut = r.int(1, tar.length - 1025);
    return { kind: 'truncated tar', bytes: tar.subarray(0, Math.max(1, cut)), expectError: /truncated|not a valid tar stream|unexpected end/i };
  },
  async (r) => {
    // A header claiming a huge body (8 GiB in octal, or base-256) followed by a few bytes.
    const header = rawHeader({ name: `huge${r.word(3)}`, typeflag: '0', size: 0o77777777777 });
    return { kind: 'huge size in a header', bytes: Buffer.concat([header, r.bytes(r.int(0, 2048))]), expectError: /truncated|not a valid tar stream|unexpected end/i };
  },
  async (r) => ({
    kind: 'huge PAX header',
    bytes: await craftTar([{ name: 'p', content: 'x', pax: { path: r.pick(ESCAPES), comment: 'c'.repeat(r.int(100_000, 1_000_000)) } }]),
    expectError: /path leaves the destination|path is the destination itself/,
  }),
  async (r) => ({
    kind: 'overlong name',
    bytes: await craftTar([{ name: 'p', content: 'x', pax: { path: r.chance(0.5) ? 'n'.repeat(r.int(256, 5000)) : `${'d/'.repeat(r.int(2100, 4000))}x` } }]),
    expectError: /too long/,
  }),
  async (r) => ({ kind: 'unknown entry type', bytes: Buffer.concat([rawHeader({ name: `u${r.word(3)}`, typeflag: r.pick(['D', 'V', 'M', 'S', 'X', '9', 'Z']) }), END_OF_ARCHIVE]), expectError: /entry type .* is not supported|not a valid tar stream/ }),
  async (r) => ({ kind: 'random bytes', bytes: Buffer.concat([r.bytes(r.int(1, 3000))]), expectError: /not a valid tar stream|truncated/ }),
  async (r) => {
    const header = rawHeader({ name: 'checksum', typeflag: '0', size: 1 });
    header[148] = header[148] === 0x31 ? 0x32 : 0x31; // a wrong checksum
    return { kind: 'bad header checksum', bytes: Buffer.concat([header, Buffer.alloc(512, 0x78), END_OF_ARCHIVE]), expectError: /not a valid tar stream/ };
  },
  async (r) => {
    const tar = await craftTar([file('a'), file('b')]);
    return { kind: 'no end-of-archive marker', bytes: tar.subarray(0, tar.length - 1024 + r.int(0, 1) * 512), expectError: /truncated/ };
  },
];

export async function archiveCases(random: SweepRandom, count: number): Promise<ArchiveCase[]> {
  const cases: ArchiveCase[] = [];
  while (cases.length < count) {
    const index = cases.length < MUTATIONS.length ? cases.length : random.int(0, MUTATIONS.length - 1);
    const made = await MUTATIONS[index](random);
    cases.push({ label: `archive #${cases.length} (${made.kind})`, bytes: made.bytes, expectError: made.expectError });
  }
  return cases;
}
