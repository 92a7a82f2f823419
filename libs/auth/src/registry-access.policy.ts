import { isAdmin, type Principal } from './principal.types';

/**
 * Who may do what in a cluster's image registry (CNCF distribution, with this cluster's api as
 * its token service). The one place the rule lives: the token route asks it for every scope a
 * client requests, and grants only what it returns.
 *
 * - admin (an admin token or an admin user): everything;
 * - user: pull and push of the repositories of projects they are a member of (`facts.member`);
 * - job: pull and push of its own project's repositories (`<project name>/…`);
 * - project (a user of the project): the same as its jobs;
 * - cluster, this one (its own output-forwarder): pull and push (it stores the copies it receives);
 * - cluster (a peer): pull of a repository only while it forwards that image, i.e. while a job of
 *   a build of that project waits or runs on the peer (`facts.peerForwards`); push (and pull, to
 *   see which layers are there) only while it delivers an image a job here waits for
 *   (`facts.peerDelivers`: the push direction, where this cluster cannot reach the peer).
 * Anything else: nothing.
 */
export const REGISTRY_ACTIONS = ['pull', 'push'] as const;

export interface RegistryScope {
  type: 'repository';
  /** e.g. `demo/build` */
  name: string;
  actions: string[];
}

/** What the token route looked up for one scope: the caller's project name, whether a peer forwards the repository. */
export interface RegistryAccessFacts {
  /** Name of the project of a job or project token; undefined for other kinds. */
  projectName?: string;
  /** For a cluster token: the peer runs jobs of a build of the repository's project that need this image. */
  peerForwards?: boolean;
  /** For a cluster token: the peer holds an image of the repository's project that a queued job here waits for. */
  peerDelivers?: boolean;
  /** For a cluster token: it is this cluster's own. */
  ownCluster?: boolean;
  /** For a user: they are a member of the repository's project. */
  member?: boolean;
}

/** The project a repository belongs to: its first path component. */
export function projectOfRepository(repository: string): string {
  return repository.split('/')[0] ?? '';
}

/** Repository names as the distribution spec allows them: lowercase path components joined by `/`. */
const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * `repository:demo/build:pull,push` → a scope; throws a TypeError naming the problem. Only the
 * `repository` type is granted to non-admins; `registry:catalog:*` is parsed as type `registry`
 * and granted to admins only.
 */
export function parseRegistryScope(text: string): RegistryScope | { type: 'registry'; name: string; actions: string[] } {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) throw new TypeError(`scope '${text}': expected type:name:actions`);
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const actions = text.slice(last + 1).split(',').filter((a) => a !== '');
  if (type === 'registry') return { type, name, actions };
  if (type !== 'repository') throw new TypeError(`scope '${text}': unknown resource type '${type}'`);
  if (!REPOSITORY.test(name) || name.length > 255) throw new TypeError(`scope '${text}': '${name}' is not a repository name`);
  return { type, name, actions };
}

/** The actions of `scope` that `principal` is granted (a subset, possibly empty), and why not the rest. */
export function grantedRegistryActions(
  principal: Principal,
  scope: { type: string; name: string; actions: string[] },
  facts: RegistryAccessFacts,
): { actions: string[]; refusal?: string } {
  if (isAdmin(principal)) return { actions: [...scope.actions] };
  if (scope.type !== 'repository') return { actions: [], refusal: `only an admin may access ${scope.type}:${scope.name}` };
  const project = projectOfRepository(scope.name);
  const known = scope.actions.filter((a) => (REGISTRY_ACTIONS as readonly string[]).includes(a));
  switch (principal.kind) {
    case 'job':
    case 'project': {
      if (facts.projectName === undefined || facts.projectName !== project) {
        return { actions: [], refusal: `a ${principal.kind} token of project '${facts.projectName ?? '?'}' may access repositories under '${facts.projectName ?? '?'}/' only, not '${scope.name}'` };
      }
      return { actions: known };
    }
    case 'user':
      if (facts.member) return { actions: known };
      return { actions: [], refusal: `user '${principal.username}' is not a member of project '${project}'` };
    case 'admin':
      return { actions: [...scope.actions] };
    case 'cluster': {
      if (facts.ownCluster) return { actions: known };
      // A peer that delivers also reads what the repository holds already (and is not sent again).
      const granted = known.filter((a) => (a === 'pull' && (facts.peerForwards || facts.peerDelivers)) || (a === 'push' && facts.peerDelivers));
      if (granted.length === known.length) return { actions: granted };
      const refusals = [
        ...(known.includes('pull') && !facts.peerForwards ? [`cluster '${principal.cluster}' forwards nothing of '${scope.name}': no job of project '${project}' waits or runs there`] : []),
        ...(known.includes('push') && !facts.peerDelivers ? [`cluster '${principal.cluster}' delivers nothing to '${scope.name}': no job here waits for an image it holds`] : []),
      ];
      return { actions: granted, refusal: refusals.join('; ') };
    }
  }
}
