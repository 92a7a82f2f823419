import { Body, Controller, DefaultValuePipe, Get, HttpCode, Param, ParseIntPipe, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { BuildDto, BuildSummaryDto, JobDto } from '@infrabox/contract';
import { ConsoleChunk } from '@infrabox/jobs';
import { ProjectAccess } from '../access/project-access.service';
import { jsonBodyFields } from '../http/json-body';
import { ReadLane } from '../http/read-lane.interceptor';
import { BuildsService } from './builds.service';
import { JobsService } from './jobs.service';

/** Builds and jobs, for whoever may see their project: its members, its tokens, admins. */
@Controller('api/v1')
@Authenticated('user', 'project', 'admin')
export class BuildsController {
  constructor(
    private readonly builds: BuildsService,
    private readonly jobs: JobsService,
    private readonly access: ProjectAccess,
  ) {}

  /**
   * Body: `{ "definition": <the infrabox.json content>, "uploadId"?: <from PUT .../source> }`;
   * with an uploadId the build's jobs get that source in their work directory.
   */
  @Post('projects/:project/builds')
  async create(@Param('project') project: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<BuildDto> {
    await this.access.assertMayUse(principal, (await this.builds.findProject(project)) ?? { name: project });
    const { definition, uploadId } = jsonBodyFields(body, ['definition', 'uploadId']);
    return this.builds.create(project, definition, uploadId);
  }

  /** The newest builds of the projects the caller sees (at most 500); `before=<build id>`: the page after that build. */
  @Get('builds')
  @ReadLane()
  async recent(
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number,
    @Query('before', new ParseUUIDPipe({ optional: true })) before: string | undefined,
    @CurrentPrincipal() principal: Principal,
  ): Promise<BuildSummaryDto[]> {
    return this.builds.recent(Math.min(Math.max(limit, 1), 500), await this.access.visibleProjectIds(principal), before);
  }

  @Get('builds/:id')
  @ReadLane()
  async get(@Param('id', ParseUUIDPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<BuildDto> {
    await this.access.assertMayUse(principal, await this.builds.projectOf(id));
    return this.builds.get(id);
  }

  @Get('jobs/:id')
  @ReadLane()
  async job(@Param('id', ParseUUIDPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<JobDto> {
    await this.access.assertMayUse(principal, await this.jobs.projectOf(id));
    return this.jobs.get(id);
  }

  @Get('jobs/:id/console')
  @ReadLane()
  async console(
    @Param('id', ParseUUIDPipe) id: string,
    @Query('after', new DefaultValuePipe(0), ParseIntPipe) after: number,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ConsoleChunk[]> {
    await this.access.assertMayUse(principal, await this.jobs.projectOf(id));
    return this.jobs.console(id, after);
  }

  @Post('jobs/:id/abort')
  @HttpCode(200)
  async abort(@Param('id', ParseUUIDPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<JobDto> {
    await this.access.assertMayUse(principal, await this.jobs.projectOf(id));
    return this.jobs.abort(id);
  }
}
