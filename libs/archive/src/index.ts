export type { ArchiveLimits, ArchiveSummary, PackOptions, PackedDirectory, UnpackOptions } from './archive.types';
export { DEFAULT_ARCHIVE_LIMITS } from './archive.types';
export {
  ArchiveDestinationError,
  ArchiveError,
  ArchiveFormatError,
  ArchiveIntegrityError,
  ArchiveLimitError,
  UnsafeArchiveEntryError,
  describeName,
} from './archive.errors';
export { packDirectory } from './directory.packer';
export { unpackTar } from './tar.unpacker';
export { TarChecker } from './tar.checker';
export { readTarFiles, type TarFileRead } from './tar-files.reader';
export { IGNORE_FILE_NAME, createIgnoreMatcher, loadIgnoreFile, type IgnoreMatcher } from './ignore-file.matcher';
