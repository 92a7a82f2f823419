/** `GET /api/v1/admin/projects/:name/members`: one member of the project. */
export interface ProjectMemberDto {
  username: string;
  addedAt: string;
}
