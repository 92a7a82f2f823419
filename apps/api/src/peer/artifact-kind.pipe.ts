import { NotFoundException, PipeTransform } from '@nestjs/common';
import { ARTIFACT_KINDS, ArtifactKind, isArtifactKind } from '@infrabox/jobs';

/** The `:kind` of a peer route: an artifact kind, else 404 naming the value and the kinds there are. */
export class ParseArtifactKindPipe implements PipeTransform<string, ArtifactKind> {
  transform(value: string): ArtifactKind {
    if (isArtifactKind(value)) return value;
    const images = value === 'image' ? ' (images move registry to registry)' : '';
    throw new NotFoundException(`no peer route for '${value.slice(0, 80)}'${images}: the kinds of artifact peers move are ${ARTIFACT_KINDS.join(', ')}`);
  }
}
