/**
 * The anomaly detector and the alert topic, synthesized in a small stack of their own with the
 * cdk-nag packs: explicit stream delivery settings, least-privilege grants, encryption, and zero
 * unacknowledged findings.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { Validations } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlertTopics, EMAIL_SEVERITIES } from '../../lib/constructs/alert-topics.js';
import { ANOMALY_DETECTOR_DEFAULTS, AnomalyDetector, REPORT_INSERT_PATTERN } from '../../lib/constructs/anomaly-detector.js';
import { OrchestratorTable } from '../../lib/constructs/orchestrator-table.js';
import { compileFilters } from '../../local/stream-filter.js';
import type { StreamRecord } from '../../local/stream-types.js';
import { synthFindings } from '../support/synth.js';

const RECOVERY_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:aurastream-recovery';

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly topics: AlertTopics;
  readonly detector: AnomalyDetector;
}

function build(options: { alertEmail?: string; nag?: boolean } = {}): Built {
  process.env['CDK_VALIDATION'] = 'false';
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'AnomalyTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const table = new OrchestratorTable(stack, 'State');
  const topics = new AlertTopics(stack, 'Alerts', { key, ...(options.alertEmail !== undefined ? { alertEmail: options.alertEmail } : {}) });
  const detector = new AnomalyDetector(stack, 'Anomaly', {
    table: table.table,
    alertTopic: topics.topic,
    recoveryStateMachine: sfn.StateMachine.fromStateMachineArn(stack, 'Recovery', RECOVERY_ARN),
    key,
  });
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, topics, detector };
}

let built: Built;
let template: Template;
let nagFindings: string[];

beforeAll(() => {
  // Two identical apps: a failed validation leaves an app that cannot be synthesized again.
  nagFindings = synthFindings(build({ alertEmail: 'oncall@example.com' }).app);
  built = build({ alertEmail: 'oncall@example.com', nag: false });
  template = Template.fromStack(built.stack);
});

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };
const statementsOf = (type: string, prop: string): Statement[] =>
  Object.values(template.findResources(type)).flatMap((r) => ((r as { Properties: Record<string, { Statement: Statement[] }> }).Properties[prop]?.Statement ?? []));
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('stream event source', () => {
  it('filters REPORT and HEALTH inserts and sets every delivery setting explicitly', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: Match.anyValue(),
      StartingPosition: 'LATEST',
      BatchSize: ANOMALY_DETECTOR_DEFAULTS.batchSize,
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify(REPORT_INSERT_PATTERN) }] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AnomalyFailureQueue'), 'Arn'] } } },
    });
    expect(JSON.parse(JSON.stringify(REPORT_INSERT_PATTERN))).toEqual({ eventName: ['INSERT'], dynamodb: { Keys: { sk: { S: [{ prefix: 'REPORT#' }, { prefix: 'HEALTH#' }] } } } });
  });

  it('the same pattern, run by the local stream emulation, passes REPORT and HEALTH inserts only', () => {
    const pass = compileFilters([REPORT_INSERT_PATTERN]);
    const rec = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', sk: string) => ({ eventName, dynamodb: { Keys: { pk: { S: 'WORKER#youtube_worker' }, sk: { S: sk } } } }) as unknown as StreamRecord;
    expect(pass(rec('INSERT', 'REPORT#2026-03-02T04:00:00.000Z#trending'))).toBe(true);
    expect(pass(rec('INSERT', 'HEALTH#MISSED_RUN#trending#2026-03-02T04:00:00.000Z'))).toBe(true);
    expect(pass(rec('MODIFY', 'HEALTH#MISSED_RUN#trending#2026-03-02T04:00:00.000Z'))).toBe(false);
    expect(pass(rec('REMOVE', 'REPORT#2026-03-02T04:00:00.000Z#trending'))).toBe(false);
    for (const sk of ['STATE', 'WINDOW#2026-03-02T04', 'ALERT']) expect(pass(rec('INSERT', sk)), sk).toBe(false);
  });

  it('passes the configuration the handler reads, and uses the orchestrator function defaults', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          TABLE_NAME: Match.anyValue(),
          ALERT_TOPIC_ARN: Match.anyValue(),
          RECOVERY_STATE_MACHINE_ARN: RECOVERY_ARN,
          INVALID_RECORD_QUEUE_URL: Match.anyValue(),
          POWERTOOLS_SERVICE_NAME: 'anomaly',
        }),
      },
      MemorySize: ANOMALY_DETECTOR_DEFAULTS.memorySizeMb,
      Timeout: ANOMALY_DETECTOR_DEFAULTS.timeoutSeconds,
      TracingConfig: { Mode: 'Active' },
      Architectures: ['arm64'],
    });
  });

  it('validates its props at synth, naming the bad value', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Bad');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const noStream = new dynamodb.Table(stack, 'NoStream', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const topics = new AlertTopics(stack, 'Alerts', { key });
    const recoveryStateMachine = sfn.StateMachine.fromStateMachineArn(stack, 'Recovery', RECOVERY_ARN);
    expect(() => new AnomalyDetector(stack, 'A', { table: noStream, alertTopic: topics.topic, recoveryStateMachine, key })).toThrow(/table must have a stream.*got .*NoStream/);
    const table = new OrchestratorTable(stack, 'State').table;
    expect(() => new AnomalyDetector(stack, 'B', { table, alertTopic: topics.topic, recoveryStateMachine, key, retryAttempts: 10_000 })).toThrow(/retryAttempts must be .*got 10000/);
    expect(() => new AnomalyDetector(stack, 'C', { table, alertTopic: topics.topic, recoveryStateMachine, key, batchSize: 0 })).toThrow(/batchSize must be .*got 0/);
    expect(() => new AlertTopics(stack, 'D', { key, alertEmail: 'not-an-address' })).toThrow(/alertEmail must be an email address, got "not-an-address"/);
    expect(() => new AlertTopics(stack, 'E', { key, emailSeverities: [] })).toThrow(/emailSeverities must name at least one severity/);
    // A custom record age is honoured.
    new AnomalyDetector(stack, 'F', { table, alertTopic: topics.topic, recoveryStateMachine, key, maxRecordAge: Duration.minutes(30) });
  });
});

describe('on-failure queue and alert topic', () => {
  it('encrypts the on-failure queue with the key, SSL only', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] }, MessageRetentionPeriod: 14 * 24 * 3600 });
    const denies = statementsOf('AWS::SQS::QueuePolicy', 'PolicyDocument').filter((s) => s.Effect === 'Deny');
    expect(denies.length).toBeGreaterThanOrEqual(2); // the on-failure queue and the subscription DLQ
    for (const d of denies) expect(d.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
  });

  it('has one KMS-encrypted, SSL-only topic and an email subscription filtered to CRITICAL, HIGH and MEDIUM, with a DLQ', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    const topicDenies = statementsOf('AWS::SNS::TopicPolicy', 'PolicyDocument').filter((s) => s.Effect === 'Deny');
    expect(topicDenies.map((s) => s.Condition)).toContainEqual({ Bool: { 'aws:SecureTransport': 'false' } });
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      // Alerts of these severities, and CloudWatch alarm notifications (no severity attribute).
      FilterPolicy: { severity: [...EMAIL_SEVERITIES, { exists: false }] },
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    expect(EMAIL_SEVERITIES).toEqual(['CRITICAL', 'HIGH', 'MEDIUM']);
    // SNS may use the key for the DLQ, for this topic only.
    const snsKeyUse = statementsOf('AWS::KMS::Key', 'KeyPolicy').filter((s) => JSON.stringify(s.Principal).includes('sns.amazonaws.com'));
    expect(snsKeyUse).toHaveLength(1);
    expect(JSON.stringify(snsKeyUse[0]?.Condition)).toMatch(/aws:SourceArn/);
  });

  it('makes no subscription without an address', () => {
    const bare = build({ nag: false });
    const t = Template.fromStack(bare.stack);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(bare.topics.subscriptionDeadLetterQueue).toBeUndefined();
    // An empty context value is no address either.
    const empty = build({ nag: false, alertEmail: '' });
    Template.fromStack(empty.stack).resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('IAM', () => {
  it('grants exactly what the handler does, on named resources only', () => {
    const statements = statementsOf('AWS::IAM::Policy', 'PolicyDocument');
    const wildcard = statements.filter((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).includes('*'));
    // X-Ray, and dynamodb:ListStreams for the stream event source: AWS allows these on * only.
    expect(wildcard.flatMap(actionsOf).sort()).toEqual(['dynamodb:ListStreams', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    const streamReads = statements.find((s) => actionsOf(s).includes('dynamodb:GetRecords'));
    expect(JSON.stringify(streamReads?.Resource)).toMatch(/StreamArn/);
    const actions = new Set(statements.flatMap(actionsOf));
    // Query: a worker's INCIDENT items (its own partition); GetItem: one incident.
    for (const a of ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'sns:Publish', 'states:StartExecution', 'sqs:SendMessage', 'dynamodb:GetRecords']) expect(actions, a).toContain(a);
    for (const a of ['dynamodb:Scan', 'dynamodb:DeleteItem', 'dynamodb:*']) expect(actions, a).not.toContain(a);
    // The recovery machine, by ARN.
    expect(statements.find((s) => actionsOf(s).includes('states:StartExecution'))?.Resource).toBe(RECOVERY_ARN);
  });
});

describe('cdk-nag', () => {
  it('reports zero unacknowledged findings (AwsSolutions and Serverless packs)', () => {
    expect(nagFindings).toEqual([]);
  });
});
