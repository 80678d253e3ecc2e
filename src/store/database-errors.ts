/**
 * What a database failure means for the person running pay. A damaged, locked or unreadable order
 * book is not a bug in pay: it is exit 2 with what to do. Kept apart from the store so the error
 * reporter can map a failure met halfway through a command (a damaged page is found only when
 * read) without loading the database driver.
 */
import { configError, type PayError } from '../core/errors.js';

/** Error codes of the SQLite driver and of the file system, as they reach pay. */
function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** True for errors the SQLite driver raised (better-sqlite3's SqliteError). */
export function isSqliteError(err: unknown): boolean {
  return codeOf(err).startsWith('SQLITE_');
}

/**
 * The PayError for a database failure at `location`, or undefined when `err` is not one
 * (a bug stays a bug).
 */
export function databaseError(err: unknown, location: string): PayError | undefined {
  const code = codeOf(err);
  const why = (err as { message?: string } | null)?.message ?? code;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') {
    return configError(`database ${location} is damaged or is not a pay database (${why})`, {
      hint:
        `Copy the file aside first (cp ${location} ${location}.damaged), then save what is readable into a new database: ` +
        `\`sqlite3 ${location} .recover | sqlite3 recovered.db\`, point --db or PAY_DB at recovered.db and check it with \`pay orders list\`; or restore your last backup. ` +
        'See "The order book" in README.md.',
      cause: err,
    });
  }
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return configError(`database ${location} stayed locked by another process`, {
      hint:
        'Another pay (or a sqlite3 shell, a backup tool) holds a lock on it: let it finish or stop it (`fuser` or `lsof` on the file names it), then run the command again. ' +
        'A lock that never goes away often means the file is on a network file system, which SQLite cannot lock reliably: keep the database on a local disk.',
      cause: err,
    });
  }
  if (code === 'SQLITE_FULL') {
    return configError(`the disk holding database ${location} is full`, { hint: 'Free some space, then run the command again.', cause: err });
  }
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_READONLY') ||
    code.startsWith('SQLITE_IOERR') ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_AUTH' ||
    ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EISDIR', 'EIO'].includes(code)
  ) {
    return configError(`cannot open database ${location} for reading and writing (${why})`, {
      hint: 'Check that it is a file you may read and write, in a folder you may write (SQLite keeps -wal and -shm files beside it), on a disk that is mounted read-write; or choose another --db or PAY_DB.',
      cause: err,
    });
  }
  return undefined;
}
