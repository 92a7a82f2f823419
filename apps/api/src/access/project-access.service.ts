import { ForbiddenException, Injectable } from '@nestjs/common';
import { isAdmin, Principal } from '@infrabox/auth';
import { ProjectMemberRepository } from '@infrabox/jobs';

/** A project as an access check names it: its id when it exists, always its name. */
export interface ProjectRef {
  id?: string;
  name: string;
}

/**
 * Who sees and pushes which project: admins (an admin token, or a user the master's config names
 * in `auth.admins`) every project; a project token its own; a user the projects they are a member
 * of. Job and cluster tokens see no project through the user routes.
 */
@Injectable()
export class ProjectAccess {
  constructor(private readonly members: ProjectMemberRepository) {}

  /** The ids of the projects the caller may see; null: every project. */
  async visibleProjectIds(principal: Principal): Promise<readonly string[] | null> {
    if (isAdmin(principal)) return null;
    if (principal.kind === 'project') return [principal.projectId];
    if (principal.kind === 'user') return this.members.projectIdsOf(principal.username);
    return [];
  }

  /** 403 naming the reason unless the caller may see and push `project`. */
  async assertMayUse(principal: Principal, project: ProjectRef): Promise<void> {
    if (isAdmin(principal)) return;
    if (principal.kind === 'project') {
      if (principal.projectName === project.name) return;
      throw forbidden(`a token of project '${principal.projectName}' may act on that project only, not on '${project.name}'`);
    }
    if (principal.kind === 'user') {
      if (project.id !== undefined && (await this.members.isMember(project.id, principal.username))) return;
      throw forbidden(`user '${principal.username}' is not a member of project '${project.name}' (an admin adds members: infrabox admin members add ${project.name} ${principal.username})`);
    }
    throw forbidden(`a ${principal.kind} token may not act on project '${project.name}'`);
  }
}

function forbidden(message: string): ForbiddenException {
  return new ForbiddenException({ statusCode: 403, message });
}
