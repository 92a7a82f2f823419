import { NotFoundException } from '@nestjs/common';
import { ParseArtifactKindPipe } from './artifact-kind.pipe';

describe('ParseArtifactKindPipe', () => {
  const pipe = new ParseArtifactKindPipe();

  it('passes the kinds of artifact', () => {
    expect(pipe.transform('output')).toBe('output');
    expect(pipe.transform('source')).toBe('source');
  });

  it('answers 404 naming the value and the kinds there are', () => {
    expect(() => pipe.transform('outputs')).toThrow(new NotFoundException("no peer route for 'outputs': the kinds of artifact peers move are output, source"));
    expect(() => pipe.transform('image')).toThrow(/no peer route for 'image' \(images move registry to registry\)/);
  });
});
