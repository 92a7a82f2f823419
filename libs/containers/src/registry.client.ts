import { createHash } from 'node:crypto';
import { IdleWatch } from '@infrabox/toolkit';

/**
 * A client of the OCI distribution API (CNCF distribution, Docker Hub, any registry v2): what
 * InfraBox needs to copy an image from one registry to another without a container engine —
 * manifests, blobs, uploads — with the standard token flow (a 401's `WWW-Authenticate: Bearer
 * realm=…` answered by asking the realm with Basic credentials) or plain Basic auth. InfraBox's
 * own registries take any username and an InfraBox token as the password (their token service
 * is the cluster's api).
 */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** What a registry answered that we could not use; `status` is the HTTP status when there was one. */
export class RegistryError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** The manifest types a single-platform image has; an index (several platforms) is not copied. */
export const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'] as const;
const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
}

export interface ImageManifest {
  /** sha256 of `bytes`: the image's identity. */
  digest: string;
  mediaType: string;
  /** Exactly as the registry stored them (the digest is of these bytes). */
  bytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A registry that sends and takes nothing for this long is cut off (the config's `timeouts.transfer_idle`). */
export const DEFAULT_REGISTRY_IDLE_TIMEOUT_MS = 30_000;

/** One registry, with one identity; bearer tokens are kept per scope until they expire. */
export class RegistryClient {
  private readonly tokens = new Map<string, { header: string; expires: number }>();
  private basic: string | undefined;

  /**
   * `url`: `http://127.0.0.1:9080` or `https://registry.example.com`. A request during which the
   * registry sends and takes nothing for `idleTimeoutMs` fails with a RegistryError saying so.
   */
  constructor(
    readonly url: string,
    private readonly credentials?: RegistryCredentials,
    private readonly idleTimeoutMs = DEFAULT_REGISTRY_IDLE_TIMEOUT_MS,
  ) {}

  /** The host:port image names start with. */
  get host(): string {
    return new URL(this.url).host;
  }

  async manifest(repository: string, reference: string): Promise<ImageManifest> {
    const response = await this.send('GET', `/v2/${repository}/manifests/${reference}`, pullScope(repository), {
      headers: { accept: [...MANIFEST_TYPES, ...INDEX_TYPES].join(', ') },
    });
    if (response.status === 404) throw new RegistryError(`${this.host}/${repository}:${reference} does not exist`, 404);
    await expectOk(response, `reading the manifest of ${this.host}/${repository}:${reference}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const digest = sha256Digest(bytes);
    const said = response.headers.get('docker-content-digest');
    if (said && said !== digest) throw new RegistryError(`the manifest of ${repository}:${reference} has digest ${digest}, the registry said ${said}`);
    if (DIGEST.test(reference) && reference !== digest) throw new RegistryError(`the manifest of ${repository}@${reference} has digest ${digest}: not the image asked for`);
    return parseManifest(bytes, digest, response.headers.get('content-type') ?? '');
  }

  /** `forPush`: asked on the way to a push (the token asked for covers both, and is reused for the upload). */
  async hasBlob(repository: string, digest: string, forPush = false): Promise<boolean> {
    const response = await this.send('HEAD', `/v2/${repository}/blobs/${digest}`, forPush ? pushScope(repository) : pullScope(repository));
    if (response.status === 404) return false;
    await expectOk(response, `looking for blob ${digest} in ${this.host}/${repository}`);
    return true;
  }

  /** The blob's bytes as a stream. */
  async blob(repository: string, digest: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send('GET', `/v2/${repository}/blobs/${digest}`, pullScope(repository));
    await expectOk(response, `reading blob ${digest} of ${this.host}/${repository}`);
    if (!response.body) throw new RegistryError(`blob ${digest} of ${this.host}/${repository} came without a body`);
    return response.body;
  }

  /** Uploads a blob in one request; the registry checks the bytes against `digest` and refuses a mismatch. */
  async putBlob(repository: string, digest: string, body: ReadableStream<Uint8Array> | Buffer): Promise<void> {
    const scope = pushScope(repository);
    const started = await this.send('POST', `/v2/${repository}/blobs/uploads/`, scope);
    await expectStatus(started, 202, `starting an upload to ${this.host}/${repository}`);
    const location = started.headers.get('location');
    if (!location) throw new RegistryError(`${this.host} started an upload without saying where (no Location)`);
    const target = new URL(location, this.url);
    target.searchParams.set('digest', digest);
    const done = await this.send('PUT', `${target.pathname}${target.search}`, scope, {
      headers: { 'content-type': 'application/octet-stream' },
      body,
    });
    await expectStatus(done, 201, `uploading blob ${digest} to ${this.host}/${repository}`);
  }

  /** Stores the manifest under `tag`; the digest the registry computed of what it stored must be the manifest's. */
  async putManifest(repository: string, tag: string, manifest: Pick<ImageManifest, 'bytes' | 'mediaType' | 'digest'>): Promise<void> {
    const response = await this.send('PUT', `/v2/${repository}/manifests/${tag}`, pushScope(repository), {
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
    });
    await expectStatus(response, 201, `storing the manifest of ${this.host}/${repository}:${tag}`);
    const said = response.headers.get('docker-content-digest');
    if (said !== manifest.digest) throw new RegistryError(`${this.host} stored ${repository}:${tag} as ${said ?? 'an unsaid digest'}, expected ${manifest.digest}`);
  }

  /** One request with this client's identity: on a 401 the challenge is answered once, then the request is sent again. */
  private async send(
    method: string,
    path: string,
    scope: string,
    init: { headers?: Record<string, string>; body?: ReadableStream<Uint8Array> | Buffer } = {},
  ): Promise<Response> {
    const attempt = async (authorization: string | undefined) => {
      const idle = new IdleWatch(this.idleTimeoutMs, (ms) => new RegistryError(`${method} ${this.host}${path.split('?')[0]}: nothing moved for ${ms / 1000} s`));
      // A stream can be sent once: a request with one is sent with the credentials known beforehand.
      const body = init.body instanceof ReadableStream ? idle.watched(init.body) : init.body;
      let response: Response;
      try {
        response = await fetch(new URL(path, this.url), {
          method,
          headers: { ...init.headers, ...(authorization && { authorization }) },
          body,
          ...(body instanceof ReadableStream && { duplex: 'half' }),
          redirect: 'follow',
          signal: idle.signal,
        } as RequestInit);
      } catch (error) {
        idle.done();
        throw idle.signal.aborted ? idle.signal.reason : error;
      }
      idle.touch();
      if (!response.body || [204, 205, 304].includes(response.status)) {
        idle.done();
        return response;
      }
      return new Response(idle.watched(response.body), { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    const known = this.knownAuthorization(scope);
    if (init.body instanceof ReadableStream && known === undefined) {
      // Learn the challenge first with a harmless request of the same scope.
      await this.authorize(await this.send('GET', '/v2/', scope), scope);
    }
    const first = await attempt(this.knownAuthorization(scope));
    if (first.status !== 401 || init.body instanceof ReadableStream) return first;
    await this.authorize(first, scope);
    return attempt(this.knownAuthorization(scope));
  }

  private knownAuthorization(scope: string): string | undefined {
    const token = this.tokens.get(scope);
    if (token && token.expires > Date.now()) return token.header;
    return this.basic;
  }

  /** Answers a 401's challenge: a bearer token from the realm for `scope`, or Basic credentials. */
  private async authorize(response: Response, scope: string): Promise<void> {
    await response.arrayBuffer().catch(() => undefined);
    if (response.status !== 401) return;
    const challenge = parseChallenge(response.headers.get('www-authenticate') ?? '');
    if (!this.credentials) throw new RegistryError(`${this.host} asks for credentials (${challenge.scheme || 'no challenge'}) and none were given`, 401);
    const basic = `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    if (challenge.scheme === 'basic') {
      this.basic = basic;
      return;
    }
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) throw new RegistryError(`${this.host} answered 401 with an unusable challenge '${response.headers.get('www-authenticate') ?? ''}'`, 401);
    const realm = new URL(challenge.params.realm);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', scope);
    const answer = await fetch(realm, { headers: { authorization: basic }, signal: AbortSignal.timeout(this.idleTimeoutMs) });
    const text = await answer.text();
    if (!answer.ok) throw new RegistryError(`the token service of ${this.host} (${realm.origin}) refused: ${answer.status} ${text.slice(0, 300)}`, answer.status);
    const body = JSON.parse(text) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`the token service of ${this.host} answered without a token`);
    this.tokens.set(scope, { header: `Bearer ${token}`, expires: Date.now() + Math.max(30, (body.expires_in ?? 60) - 15) * 1000 });
  }
}

/** What one copy moved: layers (and the config) sent, and those the target held already. */
export interface ImageCopy {
  digest: string;
  /** Bytes of the whole image: manifest, config and layers. */
  size: number;
  blobsSent: number;
  blobsSkipped: number;
  bytesSent: number;
  bytesSkipped: number;
}

/**
 * Copies one image from `source` to `target` (which may be other registries): the manifest is
 * read (and its digest checked against `expectedDigest`), each blob the target repository does
 * not hold already is streamed over (the target registry checks its digest), then the manifest
 * is stored under the target's tag, with the same digest.
 */
export async function copyImage(
  source: { client: RegistryClient; repository: string; reference: string },
  target: { client: RegistryClient; repository: string; tag: string },
  expectedDigest?: string,
): Promise<ImageCopy> {
  const manifest = await source.client.manifest(source.repository, source.reference);
  if (expectedDigest && manifest.digest !== expectedDigest) {
    throw new RegistryError(`${source.client.host}/${source.repository}:${source.reference} is ${manifest.digest}, not the recorded ${expectedDigest}`);
  }
  const copy: ImageCopy = { digest: manifest.digest, size: manifest.bytes.length, blobsSent: 0, blobsSkipped: 0, bytesSent: 0, bytesSkipped: 0 };
  for (const blob of [manifest.config, ...manifest.layers]) {
    copy.size += blob.size;
    if (await target.client.hasBlob(target.repository, blob.digest, true)) {
      copy.blobsSkipped++;
      copy.bytesSkipped += blob.size;
      continue;
    }
    await target.client.putBlob(target.repository, blob.digest, await source.client.blob(source.repository, blob.digest));
    copy.blobsSent++;
    copy.bytesSent += blob.size;
  }
  await target.client.putManifest(target.repository, target.tag, manifest);
  copy.bytesSent += manifest.bytes.length;
  return copy;
}

function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

/** `Bearer realm="…",service="…",scope="…"` → scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const params: Record<string, string> = {};
  for (const match of (space < 0 ? '' : header.slice(space + 1)).matchAll(/([a-zA-Z_]+)="([^"]*)"/g)) params[match[1].toLowerCase()] = match[2];
  return { scheme, params };
}

/** The config and layers of a single-platform manifest; an index or anything else is refused by name. */
export function parseManifest(bytes: Buffer, digest: string, contentType: string): ImageManifest {
  let parsed: { mediaType?: string; config?: Descriptor; layers?: Descriptor[] };
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError(`manifest ${digest} is not JSON`);
  }
  const mediaType = parsed.mediaType ?? contentType.split(';')[0].trim();
  if (INDEX_TYPES.includes(mediaType)) throw new RegistryError(`manifest ${digest} is an index of several platforms (${mediaType}); only single-platform images are copied`);
  if (!(MANIFEST_TYPES as readonly string[]).includes(mediaType)) throw new RegistryError(`manifest ${digest} has type '${mediaType}', not one of ${MANIFEST_TYPES.join(', ')}`);
  const descriptors = [parsed.config, ...(parsed.layers ?? [])];
  if (!parsed.config || descriptors.some((d) => !d || !DIGEST.test(d.digest) || !Number.isSafeInteger(d.size) || d.size < 0)) {
    throw new RegistryError(`manifest ${digest} lacks a config or has a layer without a sha256 digest and size`);
  }
  return { digest, mediaType, bytes, config: parsed.config, layers: parsed.layers ?? [] };
}

async function expectOk(response: Response, what: string): Promise<void> {
  if (response.ok) return;
  throw new RegistryError(`${what}: ${response.status} ${await errorText(response)}`, response.status);
}

async function expectStatus(response: Response, status: number, what: string): Promise<void> {
  if (response.status === status) {
    await response.arrayBuffer().catch(() => undefined);
    return;
  }
  throw new RegistryError(`${what}: ${response.status} ${await errorText(response)}`, response.status);
}

/** A distribution error body (`{"errors":[{"code","message"}]}`) as one line. */
async function errorText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    if (body.errors?.length) return body.errors.map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    // not JSON
  }
  return text.slice(0, 300) || response.statusText;
}
