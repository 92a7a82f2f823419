/** The answer to `PUT /api/v1/projects/:project/source`: pass `uploadId` when creating the build. */
export interface SourceUploadDto {
  uploadId: string;
  size: number;
  sha256: string;
}
