import { LOCK_KEYS, lockKeyOf } from './lock-keys';

describe('lock keys', () => {
  it('gives every fixed lock a key of its own', () => {
    const keys = Object.values(LOCK_KEYS);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('derives the same positive 63-bit key for the same name, and others for other names or namespaces', () => {
    const key = lockKeyOf('leader', "orphan recovery of cluster 'master'");
    expect(lockKeyOf('leader', "orphan recovery of cluster 'master'")).toBe(key);
    expect(key > 0n && key < 2n ** 63n).toBe(true);
    expect(lockKeyOf('leader', "orphan recovery of cluster 'worker-1'")).not.toBe(key);
    expect(lockKeyOf('transfer', 'x')).not.toBe(lockKeyOf('leader', 'x'));
  });

  it('keeps the keys running processes of the previous release contend for', () => {
    // Changing a derivation would let an old and a new process both hold a claim during an
    // upgrade: the value is the one the previous release computed for this claim.
    expect(lockKeyOf('transfer', 'output:a')).toBe(712882084764825430n);
  });
});
