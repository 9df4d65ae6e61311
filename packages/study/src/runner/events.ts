import type { StudyEvent } from "../types.js";

/** A study event before it is stamped with its time. */
export type EventInput = StudyEvent extends infer E
  ? E extends StudyEvent
    ? Omit<E, "at">
    : never
  : never;

/** Stamps and delivers events; a listener's bug never stops a study. */
export function eventEmitter(
  onEvent: ((event: StudyEvent) => void) | undefined,
): (event: EventInput) => void {
  return (event) => {
    try {
      onEvent?.({ ...event, at: new Date().toISOString() } as StudyEvent);
    } catch {
      // a listener's bug must not stop a study
    }
  };
}
