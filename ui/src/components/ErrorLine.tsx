import type { AppError } from "../bindings/AppError";
import { errorText, type ErrorKind } from "../ipc";

/** One red line for a failed call; nothing when there is no error. `labels` renames kinds, as `errorText` does. */
export function ErrorLine({
  error,
  testId,
  labels,
}: {
  error: AppError | null;
  testId?: string;
  labels?: Partial<Record<ErrorKind, string>>;
}) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid={testId} data-kind={error.kind}>
      {errorText(error, labels)}
    </p>
  );
}
