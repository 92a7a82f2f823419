/** An event as the API shows it (`GET /api/v1/events`, the SSE stream). */
export interface EventDto {
  id: string;
  type: string;
  cluster: string | null;
  payload: unknown;
  createdAt: string | null;
}
