import { formatFeedCursor, MAX_CURSOR_IDS, parseFeedCursor } from './event-feed.cursor';

describe('feed cursor', () => {
  it('round-trips a horizon alone and a horizon with the ids seen above it', () => {
    expect(parseFeedCursor('737')).toEqual({ horizon: 737n, seenIds: [] });
    expect(parseFeedCursor('12:40,41')).toEqual({ horizon: 12n, seenIds: ['40', '41'] });
    expect(formatFeedCursor({ horizon: 12n, seenIds: ['40', '41'] })).toBe('12:40,41');
    expect(formatFeedCursor({ horizon: 9n, seenIds: [] })).toBe('9');
  });

  it('refuses anything else, naming the text', () => {
    for (const bad of ['', 'now', '-1', '1:', '1:a', '1:2:3', '1,2', `1:${'9'.repeat(20)}`]) {
      expect(() => parseFeedCursor(bad)).toThrow(`'${bad}' is not a feed position`);
    }
    const many = Array.from({ length: MAX_CURSOR_IDS + 1 }, (_, i) => String(i + 1)).join(',');
    expect(() => parseFeedCursor(`1:${many}`)).toThrow(`a feed position lists at most ${MAX_CURSOR_IDS} event ids`);
  });

  it('keeps only the horizon when too many ids are above it (a resume may then repeat those events)', () => {
    const seenIds = Array.from({ length: MAX_CURSOR_IDS + 1 }, (_, i) => String(i + 1));
    expect(formatFeedCursor({ horizon: 5n, seenIds })).toBe('5');
  });
});
