/*
 * Reads a Dockerfile into stages and instructions, as `docker build` does for the parts the
 * deploy tests check: line continuations, comment lines (also inside continuations), the JSON
 * ("exec") form, and COPY flags. No engine runs here, so the tests check the file instead.
 */

export interface DockerInstruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  text: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface DockerStage {
  /** The `AS` name, if any. */
  name?: string;
  /** The image of FROM, with build ARGs of the preamble substituted. */
  base: string;
  instructions: DockerInstruction[];
}

export interface Dockerfile {
  stages: DockerStage[];
  /** ARGs before the first FROM, with their defaults. */
  args: Record<string, string>;
}

export interface CopyInstruction {
  from?: string;
  sources: string[];
  destination: string;
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: DockerInstruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && pending === undefined)) return;
    const continues = /\\\s*$/.test(raw);
    const part = continues ? raw.replace(/\\\s*$/, '') : raw;
    if (pending === undefined) pending = { parts: [], line: index + 1 };
    pending.parts.push(part.trim());
    if (!continues) {
      const joined = pending.parts.filter((p) => p !== '').join(' ');
      const match = /^(\S+)\s*(.*)$/s.exec(joined);
      if (match) instructions.push({ keyword: match[1].toUpperCase(), text: match[2], line: pending.line });
      pending = undefined;
    }
  });
  if (pending) throw new Error(`Dockerfile line ${pending.line}: line continuation at the end of the file`);

  const args: Record<string, string> = {};
  const stages: DockerStage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.text);
      if (!match) throw new Error(`Dockerfile line ${instruction.line}: cannot read FROM ${instruction.text}`);
      const base = match[1].replace(/\$\{?(\w+)\}?/g, (_, name: string) => args[name] ?? '');
      stages.push({ name: match[2], base, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} before FROM`);
      const [name, value = ''] = instruction.text.split('=', 2);
      args[name.trim()] = value.trim();
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { stages, args };
}

/** The words of an instruction: the JSON array form, or whitespace-separated. */
export function instructionWords(instruction: DockerInstruction): string[] {
  const text = instruction.text.trim();
  if (text.startsWith('[')) {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) {
      throw new Error(`Dockerfile line ${instruction.line}: expected a JSON array of strings`);
    }
    return parsed;
  }
  return text.split(/\s+/).filter((word) => word !== '');
}

export function parseCopy(instruction: DockerInstruction): CopyInstruction {
  const words = instructionWords(instruction);
  let from: string | undefined;
  while (words.length > 0 && words[0].startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  if (words.length < 2) throw new Error(`Dockerfile line ${instruction.line}: ${instruction.keyword} needs a source and a destination`);
  const destination = words.pop()!;
  return { from, sources: words, destination };
}

/** The path a WORKDIR instruction leads to, from the previous one. */
export function nextWorkdir(current: string, instruction: DockerInstruction): string {
  const target = instruction.text.trim();
  return target.startsWith('/') ? target : `${current.replace(/\/$/, '')}/${target}`;
}
