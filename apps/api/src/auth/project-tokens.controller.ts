import { BadRequestException, Body, Controller, Param, Post } from '@nestjs/common';
import { Authenticated, NotTheIssuerError, TokenService } from '@infrabox/auth';
import { ProjectRepository } from '@infrabox/jobs';
import { validProjectName } from '../builds/builds.service';
import { jsonBodyFields } from '../http/json-body';

/** A token's expiry must stay a date JWT libraries and clients can represent. */
export const MAX_PROJECT_TOKEN_TTL_SECONDS = 10 * 365 * 24 * 3600;

/** Admin only: a project token lets its holder create builds and abort jobs of the project. */
@Controller('api/v1/admin/projects')
@Authenticated('admin')
export class ProjectTokensController {
  constructor(
    private readonly projects: ProjectRepository,
    private readonly tokens: TokenService,
  ) {}

  /**
   * A project token (for `infrabox up` to hand to the CLI); creates the project when it does
   * not exist yet. Body (optional): `{ "ttlSeconds": <lifetime> }`, 30 days by default, at most 10 years.
   */
  @Post(':name/tokens')
  async create(@Param('name') name: string, @Body() body: unknown): Promise<{ token: string }> {
    validProjectName(name);
    const { ttlSeconds } = jsonBodyFields(body, ['ttlSeconds']);
    if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && (ttlSeconds as number) > 0 && (ttlSeconds as number) <= MAX_PROJECT_TOKEN_TTL_SECONDS)) {
      throw new BadRequestException(`ttlSeconds: expected a whole number of seconds from 1 to ${MAX_PROJECT_TOKEN_TTL_SECONDS} (10 years)`);
    }
    // Before the project is made: a worker creates nothing (the exception filter answers 403).
    if (!this.tokens.issuesUserTokens) throw new NotTheIssuerError('project', this.tokens.cluster);
    const project = await this.projects.findOrCreate(name);
    return { token: await this.tokens.issueProjectToken(project.id, project.name, ttlSeconds as number | undefined) };
  }
}
