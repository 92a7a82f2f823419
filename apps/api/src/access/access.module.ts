import { Global, Module } from '@nestjs/common';
import { JobsModule } from '@infrabox/jobs';
import { ProjectAccess } from './project-access.service';

/** The api's one answer to "may this caller see or push this project?". */
@Global()
@Module({
  imports: [JobsModule],
  providers: [ProjectAccess],
  exports: [ProjectAccess],
})
export class AccessModule {}
