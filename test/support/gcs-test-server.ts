/*
 * A Google Cloud Storage JSON-API server for tests: just the requests `@google-cloud/storage` 7 makes
 * for InfraBox's storage operations, shaped after Google's API reference
 * (https://cloud.google.com/storage/docs/json_api/v1):
 *
 *   POST   /storage/v1/b?project=…                     create bucket        GET /storage/v1/b/:b   get bucket
 *   GET    /storage/v1/b?project=…                     list buckets         DELETE /storage/v1/b/:b (empty only)
 *   GET    /storage/v1/b/:b/o?prefix&delimiter&maxResults&pageToken       list objects
 *   GET    /storage/v1/b/:b/o/:name                    object resource      DELETE …/o/:name → 204
 *   GET    /storage/v1/b/:b/o/:name?alt=media          download (Range → 206, 416 when unsatisfiable)
 *   POST   /upload/storage/v1/b/:b/o?uploadType=media|multipart&name=…    single-request uploads
 *   POST   /upload/storage/v1/b/:b/o?uploadType=resumable&name=…          start a session (absolute Location)
 *   PUT    <session URI>  Content-Range: bytes a-b/total | a-*\/* | *\/total | *\/*   chunks and status
 *          (308 + Range until complete, then 200 + the object); DELETE <session URI> cancels (499)
 *
 * Uploaded bytes go to temporary files on disk (never into memory) and become an object only when the
 * upload completes, by an atomic swap of the index entry, so an interrupted or cancelled upload leaves
 * no object. Objects carry `size` (a string), `md5Hash` and `crc32c` (base64, as GCS sends them);
 * downloads carry `x-goog-hash` and `x-goog-stored-content-encoding`, which the client needs to validate.
 * Errors are `{ error: { code, message, errors: [...] } }`. No authentication is checked.
 *
 * Run alone: `node dist/test/support/gcs-test-server.js [--port N] [--host H] [--data-dir D]`; it prints
 * its URL on the first line of stdout and stops on SIGTERM/SIGINT.
 */
import { CRC32C } from '@google-cloud/storage';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface GcsTestServerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Where objects and uploads in progress live; a fresh temporary directory (removed on close) by default. */
  readonly dataDir?: string;
}

export interface GcsTestServer {
  /** `http://host:port`: give it to the client as `apiEndpoint`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface StoredObject {
  readonly bucket: string;
  readonly name: string;
  readonly size: number;
  readonly md5Hash: string;
  readonly crc32c: string;
  readonly generation: string;
  readonly contentType: string;
  readonly created: Date;
  readonly file: string;
}

interface BucketState {
  readonly name: string;
  readonly created: Date;
  readonly objects: Map<string, StoredObject>;
}

interface UploadSession {
  readonly id: string;
  readonly bucket: string;
  readonly name: string;
  readonly contentType: string;
  readonly file: string;
  /** From X-Upload-Content-Length or a Content-Range total. */
  total: number | undefined;
  /** Bytes persisted so far (the committed offset). */
  received: number;
  crc32c: CRC32C;
  md5: Hash;
  /** False after an interrupted request: the running hashes may include bytes that never reached disk. */
  hashesExact: boolean;
  busy: boolean;
  result: StoredObject | undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

const notFound = (what: string) => new HttpError(404, `No such ${what}.`, 'notFound');
const invalid = (message: string) => new HttpError(400, message, 'invalid');

const MAX_JSON_BYTES = 1024 * 1024;
const MAX_PAGE = 1000;

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Counts, hashes and optionally skips the first `skip` bytes of an upload body. */
class UploadTap extends Transform {
  written = 0;
  constructor(
    private skip: number,
    private readonly session: UploadSession,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let data = chunk;
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, data.length);
      this.skip -= dropped;
      data = data.subarray(dropped);
    }
    if (data.length > 0) {
      this.session.crc32c.update(data);
      this.session.md5.update(data);
      this.written += data.length;
    }
    callback(null, data);
  }
}

/** Reads a multipart/related body: small parts into memory, the media part streamed onwards. */
class MultipartReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly iterator: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    this.buffer = this.buffer.length === 0 ? next.value : Buffer.concat([this.buffer, next.value]);
    return true;
  }

  /** Everything up to `separator` (consumed, not returned); at most `limit` bytes. */
  async readUntil(separator: Buffer, limit = MAX_JSON_BYTES): Promise<Buffer> {
    for (;;) {
      const at = this.buffer.indexOf(separator);
      if (at >= 0) {
        const head = this.buffer.subarray(0, at);
        this.buffer = this.buffer.subarray(at + separator.length);
        return head;
      }
      if (this.buffer.length > limit) throw invalid('Multipart part too large.');
      if (!(await this.pull())) throw invalid('Multipart body ended early.');
    }
  }

  /** Streams everything up to `separator` into `sink` (with backpressure); the separator is consumed. */
  async streamUntil(separator: Buffer, sink: Writable): Promise<void> {
    for (;;) {
      const at = this.buffer.indexOf(separator);
      if (at >= 0) {
        await write(sink, this.buffer.subarray(0, at));
        this.buffer = this.buffer.subarray(at + separator.length);
        return;
      }
      // Keep a tail that could be the start of the separator.
      const safe = Math.max(0, this.buffer.length - (separator.length - 1));
      if (safe > 0) {
        await write(sink, this.buffer.subarray(0, safe));
        this.buffer = this.buffer.subarray(safe);
      }
      if (!(await this.pull())) throw invalid('Multipart body ended before its closing boundary.');
    }
  }

  async rest(limit = 1024): Promise<Buffer> {
    while (this.buffer.length <= limit && (await this.pull()));
    return this.buffer;
  }
}

function write(sink: Writable, data: Buffer): Promise<void> {
  if (data.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    sink.once('error', onError);
    const ok = sink.write(data, () => undefined);
    const done = () => {
      sink.off('error', onError);
      resolve();
    };
    if (ok) done();
    else sink.once('drain', done);
  });
}

class GcsState {
  readonly buckets = new Map<string, BucketState>();
  readonly sessions = new Map<string, UploadSession>();
  private generationCounter = 0;

  constructor(readonly dataDir: string) {}

  bucket(name: string): BucketState {
    const bucket = this.buckets.get(name);
    if (bucket === undefined) throw new HttpError(404, 'The specified bucket does not exist.', 'notFound');
    return bucket;
  }

  object(bucketName: string, name: string): StoredObject {
    const object = this.bucket(bucketName).objects.get(name);
    if (object === undefined) throw notFound(`object: ${bucketName}/${name}`);
    return object;
  }

  newSession(bucket: string, name: string, contentType: string, total: number | undefined): UploadSession {
    const session: UploadSession = {
      id: randomUUID(),
      bucket,
      name,
      contentType,
      file: path.join(this.dataDir, 'uploads', `${randomUUID()}.part`),
      total,
      received: 0,
      crc32c: new CRC32C(),
      md5: createHash('md5'),
      hashesExact: true,
      busy: false,
      result: undefined,
    };
    return session;
  }

  /** Makes a complete upload the object: the index entry is swapped in one step. */
  async commit(session: UploadSession, declaredHashes: Record<string, string>): Promise<StoredObject> {
    let crc32c: string;
    let md5Hash: string;
    if (session.hashesExact) {
      crc32c = session.crc32c.toString();
      md5Hash = session.md5.digest('base64');
    } else {
      ({ crc32c, md5Hash } = await hashFile(session.file));
    }
    if ((declaredHashes.crc32c !== undefined && declaredHashes.crc32c !== crc32c) || (declaredHashes.md5 !== undefined && declaredHashes.md5 !== md5Hash)) {
      await rm(session.file, { force: true });
      throw invalid('Provided CRC32C or MD5 does not match the uploaded data.');
    }
    const bucket = this.bucket(session.bucket);
    const file = path.join(this.dataDir, 'objects', `${randomUUID()}.bin`);
    await rename(session.file, file);
    const object: StoredObject = {
      bucket: session.bucket,
      name: session.name,
      size: session.received,
      md5Hash,
      crc32c,
      generation: String(Date.now() * 1000 + (this.generationCounter++ % 1000)),
      contentType: session.contentType,
      created: new Date(),
      file,
    };
    const previous = bucket.objects.get(session.name);
    bucket.objects.set(session.name, object);
    // Open readers keep their descriptor, so the old bytes can go at once.
    if (previous !== undefined) await rm(previous.file, { force: true });
    return object;
  }
}

async function hashFile(file: string): Promise<{ crc32c: string; md5Hash: string }> {
  const crc = new CRC32C();
  const md5 = createHash('md5');
  for await (const chunk of createReadStream(file)) {
    crc.update(chunk as Buffer);
    md5.update(chunk as Buffer);
  }
  return { crc32c: crc.toString(), md5Hash: md5.digest('base64') };
}

function bucketResource(base: string, bucket: BucketState) {
  return {
    kind: 'storage#bucket',
    id: bucket.name,
    selfLink: `${base}/storage/v1/b/${encodeURIComponent(bucket.name)}`,
    projectNumber: '0',
    name: bucket.name,
    timeCreated: bucket.created.toISOString(),
    updated: bucket.created.toISOString(),
    metageneration: '1',
    location: 'US',
    locationType: 'multi-region',
    storageClass: 'STANDARD',
    etag: 'CAE=',
  };
}

function objectResource(base: string, object: StoredObject) {
  const path = `b/${encodeURIComponent(object.bucket)}/o/${encodeURIComponent(object.name)}`;
  return {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    selfLink: `${base}/storage/v1/${path}`,
    mediaLink: `${base}/download/storage/v1/${path}?generation=${object.generation}&alt=media`,
    name: object.name,
    bucket: object.bucket,
    generation: object.generation,
    metageneration: '1',
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.size),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    etag: Buffer.from(object.generation).toString('base64'),
    timeCreated: object.created.toISOString(),
    updated: object.created.toISOString(),
    timeStorageClassUpdated: object.created.toISOString(),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, error.status, {
    error: { code: error.status, message: error.message, errors: [{ message: error.message, domain: 'global', reason: error.reason }] },
  });
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES) throw invalid('Request body too large.');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'Parse Error', 'parseError');
}

/** Drains a request body we do not need, so the connection can be reused. */
async function drain(req: IncomingMessage): Promise<void> {
  for await (const _chunk of req) {
    // discard
  }
}

function parseHashes(header: string | string[] | undefined): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const item of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const at = item.indexOf('=');
    if (at > 0) hashes[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return hashes;
}

type ContentRange =
  | { kind: 'status'; total: number | undefined }
  | { kind: 'data'; start: number; last: number | undefined; total: number | undefined };

function parseContentRange(header: string | undefined, contentLength: number | undefined): ContentRange {
  if (header === undefined) {
    // A whole upload in one request.
    return { kind: 'data', start: 0, last: undefined, total: contentLength };
  }
  const match = /^bytes (?:\*|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (match === null) throw invalid(`Invalid Content-Range: ${header}`);
  const [, start, last, total] = match;
  const totalValue = total === '*' ? undefined : Number(total);
  if (start === undefined) return { kind: 'status', total: totalValue };
  const range = { kind: 'data' as const, start: Number(start), last: last === '*' ? undefined : Number(last), total: totalValue };
  if (range.last !== undefined && range.last < range.start) throw invalid(`Invalid Content-Range: ${header}`);
  return range;
}

function parseRange(header: string | undefined, size: number): { start: number; last: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined; // several ranges or another unit: answer the whole object
  const [, first, last] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), last: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (end < start) return undefined;
  return { start, last: end };
}

class GcsRequestHandler {
  constructor(private readonly state: GcsState) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const base = `http://${req.headers.host ?? 'localhost'}`;
    const url = new URL(req.url ?? '/', base);
    const segments = url.pathname.split('/').slice(1).map((segment) => decodeURIComponent(segment));
    const method = req.method ?? 'GET';
    const query = url.searchParams;

    const [root, ...rest] = segments;
    if (root === 'upload' && rest[0] === 'storage' && rest[1] === 'v1' && rest[2] === 'b' && rest.length === 5 && rest[4] === 'o') {
      return this.upload(req, res, base, rest[3], method, query);
    }
    if ((root === 'storage' || root === 'download') && rest[0] === 'v1' && rest[1] === 'b') {
      const bucketName = rest[2];
      if (bucketName === undefined || bucketName === '') return this.buckets(req, res, base, method);
      if (rest.length === 3) return this.bucketItem(req, res, base, bucketName, method);
      if (rest[3] === 'o' && rest.length === 4 && method === 'GET') return this.listObjects(res, base, bucketName, query);
      if (rest[3] === 'o' && rest.length > 4) {
        // Names arrive %2F-encoded; tolerate raw slashes too.
        const name = rest.slice(4).join('/');
        if (method === 'GET' && (query.get('alt') === 'media' || root === 'download')) return this.download(req, res, bucketName, name);
        if (method === 'GET') return sendJson(res, 200, objectResource(base, this.state.object(bucketName, name)));
        if (method === 'DELETE') return this.deleteObject(req, res, bucketName, name);
      }
    }
    await drain(req);
    throw new HttpError(404, `Not Found: ${method} ${url.pathname}`, 'notFound');
  }

  private async buckets(req: IncomingMessage, res: ServerResponse, base: string, method: string): Promise<void> {
    if (method === 'POST') {
      const body = await readJson(req);
      const name = body.name;
      if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name)) throw invalid('Invalid bucket name.');
      if (this.state.buckets.has(name)) {
        throw new HttpError(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
      }
      const bucket: BucketState = { name, created: new Date(), objects: new Map() };
      this.state.buckets.set(name, bucket);
      return sendJson(res, 200, bucketResource(base, bucket));
    }
    if (method === 'GET') {
      const items = [...this.state.buckets.values()].sort((a, b) => byteOrder(a.name, b.name)).map((b) => bucketResource(base, b));
      return sendJson(res, 200, { kind: 'storage#buckets', ...(items.length > 0 ? { items } : {}) });
    }
    await drain(req);
    throw new HttpError(405, `Method ${method} not allowed.`, 'methodNotAllowed');
  }

  private async bucketItem(req: IncomingMessage, res: ServerResponse, base: string, name: string, method: string): Promise<void> {
    await drain(req);
    const bucket = this.state.bucket(name);
    if (method === 'GET') return sendJson(res, 200, bucketResource(base, bucket));
    if (method === 'DELETE') {
      if (bucket.objects.size > 0) throw new HttpError(409, 'The bucket you tried to delete is not empty.', 'conflict');
      this.state.buckets.delete(name);
      res.writeHead(204).end();
      return;
    }
    throw new HttpError(405, `Method ${method} not allowed.`, 'methodNotAllowed');
  }

  private listObjects(res: ServerResponse, base: string, bucketName: string, query: URLSearchParams): void {
    const bucket = this.state.bucket(bucketName);
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const requested = Number(query.get('maxResults') ?? MAX_PAGE);
    const pageSize = Number.isInteger(requested) && requested > 0 ? Math.min(requested, MAX_PAGE) : MAX_PAGE;
    const token = query.get('pageToken');
    const after = token === null || token === '' ? undefined : Buffer.from(token, 'base64url').toString('utf8');

    const names = [...bucket.objects.keys()].filter((name) => name.startsWith(prefix)).sort(byteOrder);
    const items: StoredObject[] = [];
    const prefixes: string[] = [];
    let last: string | undefined;
    let more = false;
    for (const name of names) {
      let entry = name;
      let isPrefix = false;
      if (delimiter !== '') {
        const at = name.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          entry = name.slice(0, at + delimiter.length);
          isPrefix = true;
        }
      }
      // Past the page token: entries are emitted in order, a collapsed prefix once.
      if (after !== undefined && (byteOrder(entry, after) <= 0)) continue;
      if (isPrefix && prefixes[prefixes.length - 1] === entry) continue;
      if (items.length + prefixes.length === pageSize) {
        more = true;
        break;
      }
      if (isPrefix) prefixes.push(entry);
      else items.push(bucket.objects.get(name)!);
      last = entry;
    }
    sendJson(res, 200, {
      kind: 'storage#objects',
      ...(items.length > 0 ? { items: items.map((item) => objectResource(base, item)) } : {}),
      ...(prefixes.length > 0 ? { prefixes } : {}),
      ...(more && last !== undefined ? { nextPageToken: Buffer.from(last, 'utf8').toString('base64url') } : {}),
    });
  }

  private async deleteObject(req: IncomingMessage, res: ServerResponse, bucketName: string, name: string): Promise<void> {
    await drain(req);
    const bucket = this.state.bucket(bucketName);
    const object = this.state.object(bucketName, name);
    bucket.objects.delete(name);
    await rm(object.file, { force: true });
    res.writeHead(204).end();
  }

  private async download(req: IncomingMessage, res: ServerResponse, bucketName: string, name: string): Promise<void> {
    await drain(req);
    const object = this.state.object(bucketName, name);
    // Open now: a concurrent replace or delete must not change what this response sends.
    const handle = await open(object.file, 'r');
    const headers: Record<string, string> = {
      'Content-Type': object.contentType,
      'Accept-Ranges': 'bytes',
      ETag: Buffer.from(object.generation).toString('base64'),
      'x-goog-generation': object.generation,
      'x-goog-metageneration': '1',
      'x-goog-hash': `crc32c=${object.crc32c},md5=${object.md5Hash}`,
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': String(object.size),
    };
    const range = parseRange(req.headers.range, object.size);
    if (range === 'unsatisfiable') {
      await handle.close();
      res.setHeader('Content-Range', `bytes */${object.size}`);
      throw new HttpError(416, 'The requested range cannot be satisfied.', 'requestedRangeNotSatisfiable');
    }
    if (object.size === 0) {
      await handle.close();
      res.writeHead(200, { ...headers, 'Content-Length': '0' }).end();
      return;
    }
    const start = range?.start ?? 0;
    const last = range?.last ?? object.size - 1;
    if (range !== undefined) headers['Content-Range'] = `bytes ${start}-${last}/${object.size}`;
    res.writeHead(range === undefined ? 200 : 206, { ...headers, 'Content-Length': String(last - start + 1) });
    await pipeline(handle.createReadStream({ start, end: last }), res);
  }

  private async upload(req: IncomingMessage, res: ServerResponse, base: string, bucketName: string, method: string, query: URLSearchParams): Promise<void> {
    const uploadId = query.get('upload_id');
    if (uploadId !== null) {
      const session = this.state.sessions.get(uploadId);
      if (session === undefined) {
        await drain(req);
        throw notFound('upload session');
      }
      if (method === 'DELETE') {
        await drain(req);
        this.state.sessions.delete(uploadId);
        await rm(session.file, { force: true });
        res.writeHead(499).end();
        return;
      }
      if (method === 'PUT' || method === 'POST') return this.resumableRequest(req, res, base, session);
      await drain(req);
      throw new HttpError(405, `Method ${method} not allowed.`, 'methodNotAllowed');
    }
    if (method !== 'POST') {
      await drain(req);
      throw new HttpError(405, `Method ${method} not allowed.`, 'methodNotAllowed');
    }
    this.state.bucket(bucketName);
    const uploadType = query.get('uploadType');
    if (uploadType === 'resumable') {
      const metadata = await readJson(req);
      const name = query.get('name') ?? (typeof metadata.name === 'string' ? metadata.name : undefined);
      if (name === undefined || name === '') throw new HttpError(400, 'Required', 'required');
      const declared = req.headers['x-upload-content-length'];
      const total = declared === undefined ? undefined : Number(declared);
      const contentType =
        (typeof metadata.contentType === 'string' ? metadata.contentType : undefined) ??
        (req.headers['x-upload-content-type'] as string | undefined) ??
        'application/octet-stream';
      const session = this.state.newSession(bucketName, name, contentType, Number.isFinite(total) ? total : undefined);
      this.state.sessions.set(session.id, session);
      const location = `${base}/upload/storage/v1/b/${encodeURIComponent(bucketName)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${session.id}`;
      res.writeHead(200, { Location: location, 'Content-Length': '0' }).end();
      return;
    }
    if (uploadType === 'media') {
      const name = query.get('name');
      if (name === null || name === '') {
        await drain(req);
        throw new HttpError(400, 'Required', 'required');
      }
      const session = this.state.newSession(bucketName, name, req.headers['content-type'] ?? 'application/octet-stream', undefined);
      const tap = new UploadTap(0, session);
      await mkdir(path.dirname(session.file), { recursive: true });
      await pipeline(req, tap, createWriteStream(session.file));
      session.received = tap.written;
      return sendJson(res, 200, objectResource(base, await this.state.commit(session, parseHashes(req.headers['x-goog-hash']))));
    }
    if (uploadType === 'multipart') return this.multipartUpload(req, res, base, bucketName, query);
    await drain(req);
    throw invalid(`Unsupported uploadType: ${uploadType ?? '(none)'}`);
  }

  private async multipartUpload(req: IncomingMessage, res: ServerResponse, base: string, bucketName: string, query: URLSearchParams): Promise<void> {
    const boundary = /boundary="?([^";]+)"?/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (boundary === undefined) {
      await drain(req);
      throw invalid('Multipart upload without a boundary.');
    }
    const reader = new MultipartReader(req);
    const crlf = Buffer.from('\r\n');
    const headerEnd = Buffer.from('\r\n\r\n');
    const delimiter = Buffer.from(`\r\n--${boundary}`);
    await reader.readUntil(Buffer.from(`--${boundary}\r\n`)); // preamble
    await reader.readUntil(headerEnd); // metadata part's headers
    const metadataText = (await reader.readUntil(delimiter)).toString('utf8');
    await reader.readUntil(crlf);
    let metadata: Record<string, unknown> = {};
    try {
      metadata = metadataText.trim() === '' ? {} : (JSON.parse(metadataText) as Record<string, unknown>);
    } catch {
      throw new HttpError(400, 'Parse Error', 'parseError');
    }
    const mediaHeaders = (await reader.readUntil(headerEnd)).toString('utf8');
    const name = query.get('name') ?? (typeof metadata.name === 'string' ? metadata.name : undefined);
    if (name === undefined || name === '') throw new HttpError(400, 'Required', 'required');
    const contentType =
      (typeof metadata.contentType === 'string' ? metadata.contentType : undefined) ??
      /^content-type:\s*(.+)$/im.exec(mediaHeaders)?.[1]?.trim() ??
      'application/octet-stream';
    const session = this.state.newSession(bucketName, name, contentType, undefined);
    await mkdir(path.dirname(session.file), { recursive: true });
    const tap = new UploadTap(0, session);
    const file = createWriteStream(session.file);
    const sink = pipeline(tap, file);
    try {
      await reader.streamUntil(delimiter, tap);
      tap.end();
      await sink;
      const closing = (await reader.rest()).toString('utf8');
      if (!closing.startsWith('--')) throw invalid('Multipart upload with more than two parts.');
    } catch (error) {
      tap.destroy();
      await sink.catch(() => undefined);
      await rm(session.file, { force: true });
      throw error;
    }
    session.received = tap.written;
    sendJson(res, 200, objectResource(base, await this.state.commit(session, parseHashes(req.headers['x-goog-hash']))));
  }

  private async resumableRequest(req: IncomingMessage, res: ServerResponse, base: string, session: UploadSession): Promise<void> {
    const lengthHeader = req.headers['content-length'];
    const range = parseContentRange(req.headers['content-range'], lengthHeader === undefined ? undefined : Number(lengthHeader));
    if (session.result !== undefined) {
      await drain(req);
      return sendJson(res, 200, objectResource(base, session.result));
    }
    if (range.total !== undefined) {
      if (session.total !== undefined && session.total !== range.total) {
        await drain(req);
        throw invalid(`Upload size ${range.total} differs from the size announced before (${session.total}).`);
      }
      session.total = range.total;
    }
    if (range.kind === 'status' || session.busy) {
      await drain(req);
      if (range.kind === 'status' && session.total !== undefined && session.received === session.total) {
        return this.finish(req, res, base, session);
      }
      return this.incomplete(res, session);
    }
    if (range.start > session.received) {
      await drain(req);
      throw invalid(`Upload chunk starts at byte ${range.start}, but only ${session.received} bytes were received.`);
    }
    session.busy = true;
    const tap = new UploadTap(session.received - range.start, session);
    try {
      await mkdir(path.dirname(session.file), { recursive: true });
      await pipeline(req, tap, createWriteStream(session.file, { flags: 'a' }));
      session.received += tap.written;
    } catch (error) {
      // Interrupted: keep what reached the disk; the hashes are recomputed from the file at the end.
      session.received = (await stat(session.file).catch(() => ({ size: 0 }))).size;
      session.hashesExact = false;
      throw error;
    } finally {
      session.busy = false;
    }
    if (session.total !== undefined && session.received > session.total) {
      this.state.sessions.delete(session.id);
      await rm(session.file, { force: true });
      throw invalid(`Received ${session.received} bytes for an upload of ${session.total}.`);
    }
    const complete = session.total !== undefined ? session.received === session.total : range.last === undefined;
    if (!complete) return this.incomplete(res, session);
    return this.finish(req, res, base, session);
  }

  private async finish(req: IncomingMessage, res: ServerResponse, base: string, session: UploadSession): Promise<void> {
    if (session.received === 0) await writeFile(session.file, '', { flag: 'a' }); // an empty object never wrote its file
    try {
      session.result = await this.state.commit(session, parseHashes(req.headers['x-goog-hash']));
    } catch (error) {
      this.state.sessions.delete(session.id);
      throw error;
    }
    sendJson(res, 200, objectResource(base, session.result));
  }

  private incomplete(res: ServerResponse, session: UploadSession): void {
    const headers: Record<string, string> = { 'Content-Length': '0' };
    if (session.received > 0) headers.Range = `bytes=0-${session.received - 1}`;
    res.writeHead(308, headers).end();
  }
}

export async function startGcsTestServer(options: GcsTestServerOptions = {}): Promise<GcsTestServer> {
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'infrabox-gcs-')));
  await mkdir(path.join(dataDir, 'objects'), { recursive: true });
  await mkdir(path.join(dataDir, 'uploads'), { recursive: true });
  const handler = new GcsRequestHandler(new GcsState(dataDir));
  const server = createServer((req, res) => {
    handler.handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) {
        sendError(res, error);
      } else if (req.destroyed || (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
        res.destroy(); // the client went away mid-request
      } else {
        sendError(res, new HttpError(500, error instanceof Error ? error.message : String(error), 'backendError'));
      }
    });
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

if (require.main === module) {
  const port = argument('port');
  startGcsTestServer({ port: port === undefined ? 0 : Number(port), host: argument('host'), dataDir: argument('data-dir') }).then(
    (server) => {
      process.stdout.write(`${server.url}\n`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
