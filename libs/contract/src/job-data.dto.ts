/** `PUT /api/v1/jobs/:id/output` (HTTP 201): what the API stored of the job's output tar. */
export interface StoredOutputDto {
  size: number;
  sha256: string;
}
