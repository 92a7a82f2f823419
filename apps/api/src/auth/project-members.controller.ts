import { BadRequestException, Body, Controller, Delete, Get, NotFoundException, Param, Put } from '@nestjs/common';
import { Authenticated } from '@infrabox/auth';
import { USERNAME_PATTERN } from '@infrabox/config';
import { ProjectMemberDto } from '@infrabox/contract';
import { ProjectMemberRepository, ProjectRepository } from '@infrabox/jobs';
import { validProjectName } from '../builds/builds.service';
import { jsonBodyFields } from '../http/json-body';

/** Admins only: who sees and pushes a project (`infrabox admin members`). */
@Controller('api/v1/admin/projects/:name/members')
@Authenticated('admin')
export class ProjectMembersController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly members: ProjectMemberRepository,
  ) {}

  @Get()
  async list(@Param('name') name: string): Promise<ProjectMemberDto[]> {
    const project = await this.projects.findByName(validProjectName(name));
    if (!project) throw new NotFoundException(`project '${name}' not found`);
    return (await this.members.list(project.id)).map((member) => ({ username: member.username, addedAt: member.addedAt.toISOString() }));
  }

  /** Makes `username` a member (creating the project when it does not exist yet); again: no change. No body (or `{}`). */
  @Put(':username')
  async add(@Param('name') name: string, @Param('username') username: string, @Body() body: unknown): Promise<{ project: string; username: string }> {
    jsonBodyFields(body, []);
    const project = await this.projects.findOrCreate(validProjectName(name));
    await this.members.add(project.id, user(username));
    return { project: project.name, username };
  }

  @Delete(':username')
  async remove(@Param('name') name: string, @Param('username') username: string): Promise<{ project: string; username: string }> {
    const project = await this.projects.findByName(validProjectName(name));
    if (!project || !(await this.members.remove(project.id, user(username)))) {
      throw new NotFoundException(`'${username.slice(0, 200)}' is not a member of project '${name}'`);
    }
    return { project: project.name, username };
  }
}

function user(username: string): string {
  if (!USERNAME_PATTERN.test(username)) throw new BadRequestException(`username: '${username.slice(0, 120)}' is not a username (no spaces or control characters, at most 200)`);
  return username;
}
