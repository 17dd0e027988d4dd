import { z } from 'zod';

/** Where a secret lives. The policy file never holds a secret itself, so it is safe to commit. */
export type SecretRef = { env: string; file?: undefined } | { file: string; env?: undefined };

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const LITERAL_SECRET_MESSAGE =
  'must be a reference, {env: NAME} or {file: path}; literal secrets are not accepted';

export const secretRefSchema = z
  .strictObject(
    {
      env: z.string().regex(ENV_NAME, 'is not an environment variable name').optional(),
      file: z.string().min(1).optional(),
    },
    // A string here is almost always a pasted secret: say so, and never echo it.
    { error: (issue) => (issue.code === 'invalid_type' ? LITERAL_SECRET_MESSAGE : undefined) },
  )
  .superRefine((ref, ctx) => {
    if ((ref.env === undefined) === (ref.file === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of "env" or "file"' });
  })
  .transform((ref) => ref as SecretRef);
