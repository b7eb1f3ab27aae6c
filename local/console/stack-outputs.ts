/**
 * The deployed stack's endpoints, from CloudFormation DescribeStacks: the outputs StatusApiUrl and
 * LiveUpdatesUrl (lib/stacks/orchestrator-stack.ts). A missing stack or output is an error that
 * says which.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

export interface StackEndpoints {
  readonly stackName: string;
  readonly apiUrl: string;
  readonly liveUrl: string | null;
}

export const API_URL_OUTPUT = 'StatusApiUrl';
export const LIVE_URL_OUTPUT = 'LiveUpdatesUrl';

export async function stackEndpoints(client: Pick<CloudFormationClient, 'send'>, stackName: string): Promise<StackEndpoints> {
  const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  const stack = out.Stacks?.[0];
  if (!stack) throw new Error(`stack ${stackName} not found`);
  const outputs = new Map((stack.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  const apiUrl = outputs.get(API_URL_OUTPUT);
  if (!apiUrl) throw new Error(`stack ${stackName} has no output ${API_URL_OUTPUT} (outputs: ${[...outputs.keys()].join(', ') || 'none'})`);
  return { stackName, apiUrl, liveUrl: outputs.get(LIVE_URL_OUTPUT) || null };
}
