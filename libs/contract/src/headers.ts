/** The headers InfraBox's own routes send or read besides the standard ones. */
export const HEADERS = {
  /** An archive's size in bytes, sent with it (job data, peer transfers). */
  archiveSize: 'x-infrabox-size',
  /** An archive's sha256 (hex), sent with it. */
  archiveSha256: 'x-infrabox-sha256',
  /** Where a server-sent event stream resumes. */
  lastEventId: 'last-event-id',
} as const;

/** The content type of every archive InfraBox sends or takes (job outputs, build sources). */
export const TAR_CONTENT_TYPE = 'application/x-tar';
