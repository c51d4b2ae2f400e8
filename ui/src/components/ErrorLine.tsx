import type { AppError } from "../bindings/AppError";
import { errorText } from "../ipc";

/** One red line for a failed call; nothing when there is no error. */
export function ErrorLine({ error, testId }: { error: AppError | null; testId?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" data-testid={testId} data-kind={error.kind}>
      {errorText(error)}
    </p>
  );
}
