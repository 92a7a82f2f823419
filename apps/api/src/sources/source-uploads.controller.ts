import { BadRequestException, Controller, NotFoundException, Headers, HttpCode, Param, Put, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { ProjectAccess } from '../access/project-access.service';
import { validProjectName } from '../builds/builds.service';
import { TarBody } from '../http/content-type.guard';
import type { SourceUploadDto } from '@infrabox/contract';
import { SourceUploadsService } from './source-uploads.service';

@Controller('api/v1/projects/:project/source')
export class SourceUploadsController {
  constructor(
    private readonly uploads: SourceUploadsService,
    private readonly access: ProjectAccess,
  ) {}

  /**
   * Body: the source as a tar stream (`application/x-tar`), by a member, a token of the project or an admin. Answers
   * `{uploadId, size, sha256}`; `POST /api/v1/projects/:project/builds` with `uploadId` uses it.
   */
  @Put()
  @HttpCode(201)
  @TarBody()
  @Authenticated('user', 'project', 'admin')
  async upload(
    @Param('project') name: string,
    @CurrentPrincipal() principal: Principal,
    @Headers('content-length') contentLength: string | undefined,
    @Req() req: Request,
  ): Promise<SourceUploadDto> {
    try {
      const project = await this.uploads.findProject(validProjectName(name));
      await this.access.assertMayUse(principal, project ?? { name });
      if (!project) throw new NotFoundException(`project '${name}' not found (a build creates it: POST /api/v1/projects/${name}/builds)`);
      const length = contentLength === undefined ? undefined : Number(contentLength);
      if (length !== undefined && !Number.isSafeInteger(length)) throw new BadRequestException('Content-Length: not a number');
      return await this.uploads.receive(project, req, length);
    } catch (error) {
      req.resume(); // a refused body is drained, so the caller reads the answer
      throw error;
    }
  }
}
