/**
 * TypeDoc plugin: every public symbol has a summary and an `@example`.
 *
 * TypeDoc's own `notDocumented` validation wants a comment; this adds, during validation, a
 * warning for each exported declaration, public method or accessor whose comment lacks a
 * summary or an `@example` block. Rules:
 * - members are checked where declared: inherited and overriding members are skipped (the
 *   contract is written once, on the base class);
 * - protected members (for authors of executor backends) need a summary, not an example;
 * - the type of a same-named constant (`FutureState`, `ReturnWhen`) shares its example;
 * - an overloaded function needs one signature with both.
 * With `treatValidationWarningsAsErrors` the warnings fail the run.
 */
import { Application, ReflectionKind } from 'typedoc';

/** Kinds that need both a summary and an example. */
const NEEDS_EXAMPLE =
  ReflectionKind.Class |
  ReflectionKind.Interface |
  ReflectionKind.TypeAlias |
  ReflectionKind.Function |
  ReflectionKind.Variable |
  ReflectionKind.Enum |
  ReflectionKind.Method |
  ReflectionKind.Accessor;

/** Members whose meaning is fixed by the language: a summary is enough. */
const SUMMARY_ONLY = new Set(['[toStringTag]', '[asyncIterator]']);

function commentsOf(reflection) {
  if (reflection.signatures?.length) return reflection.signatures.map((signature) => signature.comment);
  if (reflection.kindOf(ReflectionKind.Accessor)) return [reflection.getSignature?.comment ?? reflection.setSignature?.comment ?? reflection.comment];
  return [reflection.comment];
}

const hasSummary = (comment) => comment?.summary.some((part) => part.text.trim() !== '') === true;
const hasExample = (comment) => comment?.blockTags.some((tag) => tag.tag === '@example') === true;

/** @param {Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    const gaps = [];
    for (const reflection of project.getReflectionsByKind(NEEDS_EXAMPLE)) {
      const { flags } = reflection;
      if (flags.isPrivate || flags.isExternal || flags.isInherited || reflection.overwrites !== undefined) continue;
      const comments = commentsOf(reflection);
      const missing = [];
      if (!comments.some(hasSummary)) missing.push('a summary');
      const sharesExample =
        reflection.kindOf(ReflectionKind.TypeAlias) &&
        reflection.parent?.getChildByName?.(reflection.name) !== undefined &&
        reflection.parent.children?.some((sibling) => sibling !== reflection && sibling.name === reflection.name && sibling.kindOf(ReflectionKind.Variable) && hasExample(sibling.comment));
      const exampleNeeded = !flags.isProtected && !SUMMARY_ONLY.has(reflection.name) && !sharesExample;
      if (exampleNeeded && !comments.some(hasExample)) missing.push('an @example');
      if (missing.length > 0) gaps.push(`${reflection.getFriendlyFullName()} (${ReflectionKind.singularString(reflection.kind)}) lacks ${missing.join(' and ')}`);
    }
    for (const gap of gaps.sort()) app.logger.warn(gap);
  });
}
