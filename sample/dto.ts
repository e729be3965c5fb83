import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

/** A command sent to `devices/{id}/cmd`. */
export class CommandDto {
  /** What the device should do. */
  @IsIn(['reboot', 'ping', 'locate'])
  op!: 'reboot' | 'ping' | 'locate';

  /** Delay before the device acts, in seconds. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3600)
  delaySeconds?: number;
}

/** The reply to a {@link CommandDto}. */
export class CommandResultDto {
  @IsString()
  id!: string;

  @IsIn(['reboot', 'ping', 'locate'])
  op!: string;

  accepted!: boolean;
}

/** A unit of work published to `workers/jobs/{kind}`. */
export class JobDto {
  @IsString()
  @Matches(/^[\w-]+$/)
  jobId!: string;

  /** Numbers to add up. */
  @IsInt({ each: true })
  numbers!: number[];
}

/** What the job pool publishes to `devices/events` for each job. */
export class JobResultDto {
  @IsString()
  jobId!: string;

  @IsInt()
  sum!: number;

  /** Which worker process handled it. */
  @IsString()
  worker!: string;
}
