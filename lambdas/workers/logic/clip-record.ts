/** The record clip_radar_worker keeps of a clip, and clip_radar_recap_worker reads. */
import * as z from 'zod';

export const ClipRecord = z.object({
  id: z.string().min(1),
  gameId: z.string().min(1),
  title: z.string(),
  broadcaster: z.string(),
  createdAt: z.iso.datetime(),
  views: z.number().int().nonnegative(),
  firstSeenAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
  velocityPerMinute: z.number().nonnegative(),
  viral: z.boolean(),
  viralAt: z.iso.datetime().optional(),
});
export type ClipRecord = z.infer<typeof ClipRecord>;
