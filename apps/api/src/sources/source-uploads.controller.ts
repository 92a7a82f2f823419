import { BadRequestException, Controller, Headers, HttpCode, Param, Put, Req } from '@nestjs/common';
import type { Request } from 'express';
import { assertProjectAccess, Authenticated, CurrentPrincipal, Principal } from '@infrabox/auth';
import { PROJECT_NAME } from '../builds/builds.service';
import { TarBody } from '../http/content-type.guard';
import { SourceUploadDto } from './source-upload.dto';
import { SourceUploadsService } from './source-uploads.service';

@Controller('api/v1/projects/:project/source')
export class SourceUploadsController {
  constructor(private readonly uploads: SourceUploadsService) {}

  /**
   * Body: the source as a tar stream (`application/x-tar`), with a token of that project. Answers
   * `{uploadId, size, sha256}`; `POST /api/v1/projects/:project/builds` with `uploadId` uses it.
   */
  @Put()
  @HttpCode(201)
  @TarBody()
  @Authenticated('project')
  async upload(
    @Param('project') name: string,
    @CurrentPrincipal() principal: Principal,
    @Headers('content-length') contentLength: string | undefined,
    @Req() req: Request,
  ): Promise<SourceUploadDto> {
    try {
      if (!PROJECT_NAME.test(name)) throw new BadRequestException('project: not a valid name (letters, digits, _ . -, at most 100)');
      const project = await this.uploads.findProject(name);
      assertProjectAccess(principal, project?.id ?? '');
      const length = contentLength === undefined ? undefined : Number(contentLength);
      if (length !== undefined && !Number.isSafeInteger(length)) throw new BadRequestException('Content-Length: not a number');
      return await this.uploads.receive(project!, req, length);
    } catch (error) {
      req.resume(); // a refused body is drained, so the caller reads the answer
      throw error;
    }
  }
}
