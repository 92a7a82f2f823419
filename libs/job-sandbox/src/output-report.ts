/** The sha256 of no bytes: what a job without output reports. */
export const EMPTY_OUTPUT_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** What stage-out reports for the job's output: whether anything was stored, its size and sha256. */
export interface OutputReport {
  stored: boolean;
  size: number;
  sha256: string;
}

/** The report of an empty output folder: nothing stored. */
export const EMPTY_OUTPUT_REPORT: OutputReport = Object.freeze({ stored: false, size: 0, sha256: EMPTY_OUTPUT_SHA256 });

/** Reads a report from its JSON text (a pod's termination message); null when it is not one. */
export function parseOutputReport(text: string | undefined): OutputReport | null {
  try {
    const value = JSON.parse(text ?? '') as Partial<OutputReport>;
    if (typeof value.stored !== 'boolean' || !Number.isSafeInteger(value.size) || (value.size as number) < 0) return null;
    if (typeof value.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(value.sha256)) return null;
    return { stored: value.stored, size: value.size as number, sha256: value.sha256 };
  } catch {
    return null;
  }
}
