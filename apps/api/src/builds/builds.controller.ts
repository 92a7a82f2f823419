import { Body, Controller, DefaultValuePipe, Get, HttpCode, Param, ParseIntPipe, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { assertProjectNamedOrAdmin, assertProjectOrAdmin, Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { BuildDto, BuildSummaryDto, ConsoleChunk, JobDto } from '@infrabox/jobs';
import { jsonBodyFields } from '../http/json-body';
import { BuildsService } from './builds.service';
import { JobsService } from './jobs.service';

// Writes take a token of the project (or an admin token); reads are open for now.
@Controller('api/v1')
export class BuildsController {
  constructor(
    private readonly builds: BuildsService,
    private readonly jobs: JobsService,
  ) {}

  /**
   * Body: `{ "definition": <the infrabox.json content>, "uploadId"?: <from PUT .../source> }`;
   * with an uploadId the build's jobs get that source in their work directory.
   */
  @Post('projects/:project/builds')
  @Authenticated('project', 'admin')
  create(@Param('project') project: string, @Body() body: unknown, @CurrentPrincipal() principal: Principal): Promise<BuildDto> {
    assertProjectNamedOrAdmin(principal, project);
    const { definition, uploadId } = jsonBodyFields(body, ['definition', 'uploadId']);
    return this.builds.create(project, definition, uploadId);
  }

  @Get('builds')
  recent(@Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number): Promise<BuildSummaryDto[]> {
    return this.builds.recent(Math.min(Math.max(limit, 1), 500));
  }

  @Get('builds/:id')
  get(@Param('id', ParseUUIDPipe) id: string): Promise<BuildDto> {
    return this.builds.get(id);
  }

  @Get('jobs/:id')
  job(@Param('id', ParseUUIDPipe) id: string): Promise<JobDto> {
    return this.jobs.get(id);
  }

  @Get('jobs/:id/console')
  console(
    @Param('id', ParseUUIDPipe) id: string,
    @Query('after', new DefaultValuePipe(0), ParseIntPipe) after: number,
  ): Promise<ConsoleChunk[]> {
    return this.jobs.console(id, after);
  }

  @Post('jobs/:id/abort')
  @HttpCode(200)
  @Authenticated('project', 'admin')
  async abort(@Param('id', ParseUUIDPipe) id: string, @CurrentPrincipal() principal: Principal): Promise<JobDto> {
    if (principal.kind !== 'admin') assertProjectOrAdmin(principal, await this.jobs.projectOf(id));
    return this.jobs.abort(id);
  }
}
