/** A scripted browser for sign-in tests: fetch with manual redirects, a cookie jar, and small form parsing. */

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  /** Epoch ms; undefined for a session cookie. */
  expires?: number;
}

interface HtmlForm {
  action: URL;
  method: string;
  fields: URLSearchParams;
}

interface Page {
  url: URL;
  status: number;
  body: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 30;
const MAX_FORMS = 8;
const TIMEOUT_MS = 10_000;

export class OidcBrowser {
  /** Requests made, in order. */
  readonly requests: Array<{ method: string; url: string; status: number }> = [];
  /** Cookies by host:port, then by name and path. */
  private readonly jar = new Map<string, Map<string, StoredCookie>>();

  /**
   * Follows redirects from `startUrl`, submits `username` on the provider's login form, and stops at
   * the first response that is not a redirect, or at a redirect to a path starting with `stopAtPath`.
   * `url` is that redirect's Location (fragment included) or the last page's URL; `body` is '' for a
   * stopped redirect.
   */
  async signIn(startUrl: string, username: string, stopAtPath = '/dashboard'): Promise<Page> {
    const page = await this.navigate('GET', new URL(startUrl), undefined, stopAtPath);
    const login = parseForms(page.body, page.url).find((form) => form.fields.has('login'));
    if (!login) return page;
    login.fields.set('login', username);
    return this.submit(login, stopAtPath);
  }

  /**
   * The user's part of the device flow: opens `verificationUriComplete`, submits the provider's forms
   * (the user code's, its confirmation, the login as `username`) and resolves on the success page.
   */
  async confirmDevice(verificationUriComplete: string, username: string): Promise<void> {
    let page = await this.navigate('GET', new URL(verificationUriComplete));
    let loggedIn = false;
    for (let step = 0; step < MAX_FORMS; step++) {
      if (/<h1>\s*Sign-in Success\s*<\/h1>/i.test(page.body)) return;
      const [form] = parseForms(page.body, page.url);
      // No form, or the user code input page again (the code was refused): nothing left to submit.
      if (!form || form.fields.get('user_code') === '') break;
      if (form.fields.has('login')) {
        if (loggedIn) break;
        form.fields.set('login', username);
        loggedIn = true;
      }
      page = await this.submit(form);
    }
    throw new Error(`device confirmation did not succeed; last page ${page.status} ${page.url}: ${pageText(page.body)}`);
  }

  /** The cookies the jar holds for `origin` (any path), by name. */
  cookies(origin: string): Record<string, string> {
    const cookies = this.cookiesOf(new URL(origin).host);
    return Object.fromEntries([...cookies.values()].map((cookie) => [cookie.name, cookie.value]));
  }

  /** Submits `form` as a browser would: GET forms in the query, others urlencoded in the body. */
  private submit(form: HtmlForm, stopAtPath?: string): Promise<Page> {
    if (form.method !== 'GET') return this.navigate(form.method, form.action, form.fields, stopAtPath);
    const url = new URL(form.action);
    url.search = form.fields.toString();
    return this.navigate('GET', url, undefined, stopAtPath);
  }

  /** Sends a request and follows redirects until a page, or a redirect into `stopAtPath`. */
  private async navigate(method: string, url: URL, form?: URLSearchParams, stopAtPath?: string): Promise<Page> {
    for (let step = 0; step < MAX_REDIRECTS; step++) {
      const response = await this.send(method, url, form);
      const location = response.headers.get('location');
      if (!REDIRECTS.has(response.status) || location === null) {
        return { url, status: response.status, body: await response.text() };
      }
      await response.body?.cancel();
      const next = new URL(location, url);
      if (stopAtPath !== undefined && next.pathname.startsWith(stopAtPath)) {
        return { url: next, status: response.status, body: '' };
      }
      if (response.status !== 307 && response.status !== 308) {
        method = 'GET';
        form = undefined;
      }
      url = next;
    }
    throw new Error(`more than ${MAX_REDIRECTS} redirects from ${url}`);
  }

  private async send(method: string, url: URL, form?: URLSearchParams): Promise<Response> {
    const headers: Record<string, string> = {};
    const cookie = this.cookieHeader(url);
    if (cookie) headers.cookie = cookie;
    if (form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method,
      headers,
      body: form?.toString(),
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    this.requests.push({ method, url: url.href, status: response.status });
    for (const header of response.headers.getSetCookie()) this.store(url, header);
    return response;
  }

  private cookiesOf(host: string): Map<string, StoredCookie> {
    let cookies = this.jar.get(host);
    if (!cookies) this.jar.set(host, (cookies = new Map()));
    for (const [key, cookie] of cookies) {
      if (cookie.expires !== undefined && cookie.expires <= Date.now()) cookies.delete(key);
    }
    return cookies;
  }

  /** Cookie header for `url`: matching paths, the longest first (RFC 6265 5.4). */
  private cookieHeader(url: URL): string {
    return [...this.cookiesOf(url.host).values()]
      .filter((cookie) => pathMatches(url.pathname, cookie.path))
      .sort((a, b) => b.path.length - a.path.length)
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  /** Stores one Set-Cookie header (Domain and Secure are ignored); an expired one deletes the cookie. */
  private store(url: URL, header: string): void {
    const [pair, ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq < 1) return;
    const cookie: StoredCookie = { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), path: defaultPath(url) };
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const [key, ...rest] = attribute.split('=');
      const value = rest.join('=').trim();
      switch (key.trim().toLowerCase()) {
        case 'path':
          if (value.startsWith('/')) cookie.path = value;
          break;
        case 'max-age':
          maxAge = Number(value);
          break;
        case 'expires':
          if (Number.isFinite(Date.parse(value))) cookie.expires = Date.parse(value);
          break;
      }
    }
    if (maxAge !== undefined && Number.isFinite(maxAge)) cookie.expires = Date.now() + maxAge * 1000;
    const cookies = this.cookiesOf(url.host);
    const key = `${cookie.name};${cookie.path}`;
    if (cookie.expires !== undefined && !(cookie.expires > Date.now())) cookies.delete(key);
    else cookies.set(key, cookie);
  }
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  return (
    requestPath === cookiePath ||
    (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'))
  );
}

/** RFC 6265 5.1.4: the request path up to its last '/'. */
function defaultPath(url: URL): string {
  const end = url.pathname.lastIndexOf('/');
  return end > 0 ? url.pathname.slice(0, end) : '/';
}

/**
 * The forms of a page: action, method and the values of their inputs, plus the name/value of the
 * submit button a browser would use (the first one inside the form, or else pointing at it by id).
 */
function parseForms(html: string, base: URL): HtmlForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, formTag, content]) => {
    const form = attributesOf(formTag);
    const fields = new URLSearchParams();
    for (const [, tag] of content.matchAll(/<input\b([^>]*)>/gi)) {
      const input = attributesOf(tag);
      const type = (input.type ?? 'text').toLowerCase();
      if (input.name && !['submit', 'button', 'image', 'reset', 'checkbox', 'radio'].includes(type)) {
        fields.append(input.name, input.value ?? '');
      }
    }
    const submitter = submitButtons(content)[0]
      ?? (form.id === undefined ? undefined : submitButtons(html).find((button) => button.form === form.id));
    if (submitter?.name) fields.append(submitter.name, submitter.value ?? '');
    return {
      action: new URL(form.action ?? '', base),
      method: (form.method ?? 'GET').toUpperCase(),
      fields,
    };
  });
}

/** The attributes of the submit buttons (`<button>`, `<input type="submit">`) in `html`. */
function submitButtons(html: string): Array<Record<string, string>> {
  return [...html.matchAll(/<(button|input)\b([^>]*)>/gi)]
    .map(([, tag, text]) => {
      const attributes = attributesOf(text);
      attributes.type = (attributes.type ?? (tag.toLowerCase() === 'button' ? 'submit' : 'text')).toLowerCase();
      return attributes;
    })
    .filter((button) => button.type === 'submit');
}

function attributesOf(tag: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [, name, double, single, bare] of tag.matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
    attributes[name.toLowerCase()] = decodeEntities(double ?? single ?? bare ?? '');
  }
  return attributes;
}

function decodeEntities(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[\da-f]+|#\d+|[a-z]+);/gi, (entity, code: string) =>
    code[0] === '#'
      ? String.fromCodePoint(code[1].toLowerCase() === 'x' ? parseInt(code.slice(2), 16) : Number(code.slice(1)))
      : (named[code.toLowerCase()] ?? entity),
  );
}

/** The visible text of a page, for error messages. */
function pageText(html: string): string {
  return html
    .replace(/<(style|script)\b[\s\S]*?<\/\1>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 2000);
}
