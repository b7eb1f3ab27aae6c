/**
 * The webhook delivery construct in a small stack of its own with the cdk-nag packs: the filtered
 * SNS subscription and its dead-letter queue, the async invoke settings and on-failure
 * destination, the KMS-encrypted signing secret (and that its generated value is a valid
 * Standard Webhooks key), URL validation, and zero unacknowledged findings.
 */
import { randomInt } from 'node:crypto';
import { App, CfnParameter, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlertTopics } from '../../lib/constructs/alert-topics.js';
import {
  WEBHOOK_FUNCTION_TIMEOUT,
  WEBHOOK_HTTP_TIMEOUT_MS,
  WEBHOOK_MAX_EVENT_AGE,
  WEBHOOK_RETRY_ATTEMPTS,
  WEBHOOK_SECRET_LENGTH,
  WebhookDelivery,
  type WebhookDeliveryProps,
} from '../../lib/constructs/webhook-delivery.js';
import { MIN_SECRET_BYTES, parseSecret } from '../../lib/domain/webhook-signature.js';
import { secretsFromJson } from '../../lambdas/webhook/secrets.js';
import { synthFindings } from '../support/synth.js';

const URL = 'https://hooks.example.com/aurastream?team=ops';

interface Built {
  readonly app: App;
  readonly stack: Stack;
  readonly delivery: WebhookDelivery;
}

function build(options: { nag?: boolean; alertEmail?: string; props?: Partial<WebhookDeliveryProps> } = {}): Built {
  process.env['CDK_VALIDATION'] = 'false';
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'WebhookTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
  const topics = new AlertTopics(stack, 'Alerts', { key, ...(options.alertEmail !== undefined ? { alertEmail: options.alertEmail } : {}) });
  const delivery = new WebhookDelivery(stack, 'Webhook', { topic: topics.topic, url: URL, key, ...options.props });
  if (options.nag !== false) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, delivery };
}

let built: Built;
let template: Template;
let nagFindings: string[];

beforeAll(() => {
  // Two identical apps: a failed validation leaves an app that cannot be synthesized again.
  nagFindings = synthFindings(build().app);
  built = build({ nag: false });
  template = Template.fromStack(built.stack);
});

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };
const statementsOf = (type: string, prop: string): Statement[] =>
  Object.values(template.findResources(type)).flatMap((r) => ((r as { Properties: Record<string, { Statement: Statement[] }> }).Properties[prop]?.Statement ?? []));
const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const getAtt = (prefix: string, attr = 'Arn') => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}`), attr] });
const logicalIdOf = (type: string, prefix: string): string => {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
};

describe('SNS subscription', () => {
  it('subscribes the function with a severity filter (LOW never) and a dead-letter queue', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'lambda',
      TopicArn: { Ref: Match.stringLikeRegexp('^AlertsTopic') },
      Endpoint: getAtt('WebhookDeliveryFunction'),
      FilterPolicy: { severity: ['CRITICAL', 'HIGH', 'MEDIUM'] },
      RedrivePolicy: { deadLetterTargetArn: getAtt('WebhookSubscriptionDeadLetterQueue') },
    });
    // SNS may invoke the function for this topic only.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'sns.amazonaws.com',
      SourceArn: { Ref: Match.stringLikeRegexp('^AlertsTopic') },
    });
  });

  it('honours custom severities and validates them', () => {
    const { stack } = build({ nag: false, props: { severities: ['CRITICAL'] } });
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', { FilterPolicy: { severity: ['CRITICAL'] } });
    expect(() => build({ nag: false, props: { severities: [] } })).toThrow(/severities must name at least one severity, got none/);
    expect(() => build({ nag: false, props: { severities: ['URGENT' as never] } })).toThrow(/severities must be among CRITICAL, HIGH, MEDIUM, LOW, got URGENT/);
  });

  it('lets SNS use the key for the encrypted subscription DLQ, scoped to this account\'s topics', () => {
    const snsStatements = statementsOf('AWS::KMS::Key', 'KeyPolicy').filter((s) => JSON.stringify(s.Principal).includes('sns.amazonaws.com'));
    expect(snsStatements).toHaveLength(1);
    const [statement] = snsStatements;
    expect(actionsOf(statement as Statement).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(statement?.Condition).toMatchObject({ StringEquals: { 'aws:SourceAccount': '123456789012' } });
    // With an email subscription AlertTopics adds the same statement: it appears once.
    const withEmail = Template.fromStack(build({ nag: false, alertEmail: 'oncall@example.com' }).stack);
    const keys = Object.values(withEmail.findResources('AWS::KMS::Key')) as { Properties: { KeyPolicy: { Statement: Statement[] } } }[];
    expect(keys.flatMap((k) => k.Properties.KeyPolicy.Statement).filter((s) => JSON.stringify(s.Principal).includes('sns.amazonaws.com'))).toHaveLength(1);
  });
});

describe('asynchronous invocation', () => {
  it('retries twice within a bounded event age, then sends to the on-failure queue', () => {
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^WebhookDeliveryFunction') },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: getAtt('WebhookFailureQueue') } },
    });
    expect(WEBHOOK_RETRY_ATTEMPTS).toBe(2);
    expect(WEBHOOK_MAX_EVENT_AGE.toSeconds()).toBe(3600);
  });

  it('lets the function write to the on-failure queue', () => {
    const failureQueue = logicalIdOf('AWS::SQS::Queue', 'WebhookFailureQueue');
    const send = statementsOf('AWS::IAM::Policy', 'PolicyDocument').find((s) => actionsOf(s).includes('sqs:SendMessage'));
    expect(send?.Resource).toEqual({ 'Fn::GetAtt': [failureQueue, 'Arn'] });
  });

  it('encrypts both failure queues with the key, SSL only', () => {
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: getAtt('Key'), MessageRetentionPeriod: 14 * 24 * 3600 });
    const denies = statementsOf('AWS::SQS::QueuePolicy', 'PolicyDocument').filter((s) => s.Effect === 'Deny');
    expect(denies).toHaveLength(2);
    for (const d of denies) expect(d.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
  });
});

describe('function', () => {
  it('passes the configuration the handler reads, with a timeout above the HTTP timeout', () => {
    const secret = logicalIdOf('AWS::SecretsManager::Secret', 'WebhookSigningSecret');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          WEBHOOK_URL: URL,
          WEBHOOK_SECRET_ARN: { Ref: secret },
          WEBHOOK_TIMEOUT_MS: String(WEBHOOK_HTTP_TIMEOUT_MS),
          WEBHOOK_SECRET_CACHE_SECONDS: '300',
          POWERTOOLS_SERVICE_NAME: 'webhook',
        }),
      },
      Timeout: 15,
      MemorySize: 256,
      TracingConfig: { Mode: 'Active' },
      Architectures: ['arm64'],
    });
    expect(WEBHOOK_FUNCTION_TIMEOUT.toMilliseconds()).toBeGreaterThanOrEqual(2 * WEBHOOK_HTTP_TIMEOUT_MS);
  });

  it('puts no secret value in the environment', () => {
    for (const fn of Object.values(template.findResources('AWS::Lambda::Function'))) {
      const env = JSON.stringify((fn as { Properties: { Environment?: unknown } }).Properties.Environment ?? {});
      expect(env).not.toMatch(/whsec_|\{\{resolve:secretsmanager|SecretString/i);
    }
  });

  it('may read the one secret, and decrypt with the key only through Secrets Manager', () => {
    const secret = logicalIdOf('AWS::SecretsManager::Secret', 'WebhookSigningSecret');
    const statements = statementsOf('AWS::IAM::Policy', 'PolicyDocument');
    const read = statements.find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'));
    expect(read?.Resource).toEqual({ Ref: secret });
    // The key is in the same stack: the decrypt grant is in its key policy, for the role, via Secrets Manager only.
    const role = logicalIdOf('AWS::IAM::Role', 'WebhookDeliveryRole');
    const decrypt = statementsOf('AWS::KMS::Key', 'KeyPolicy').find((s) => JSON.stringify(s.Principal).includes(role));
    expect(decrypt).toMatchObject({ Action: 'kms:Decrypt', Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } } });
    // No statement grants secretsmanager:* or reads other secrets.
    for (const s of statements) for (const a of actionsOf(s)) if (a.startsWith('secretsmanager:')) expect(s.Resource).toEqual({ Ref: secret });
  });
});

describe('signing secret', () => {
  it('is KMS-encrypted and generated, never in the template', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: getAtt('Key'),
      GenerateSecretString: {
        SecretStringTemplate: '{}',
        GenerateStringKey: 'current',
        PasswordLength: WEBHOOK_SECRET_LENGTH,
        ExcludePunctuation: true,
        IncludeSpace: false,
        RequireEachIncludedType: false,
      },
    });
    template.hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: Match.absent() });
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
  });

  it('generates a value the function accepts: unpadded base64 of at least MIN_SECRET_BYTES bytes, with or without whsec_', () => {
    expect(WEBHOOK_SECRET_LENGTH % 4).toBe(0);
    expect((WEBHOOK_SECRET_LENGTH / 4) * 3).toBeGreaterThanOrEqual(MIN_SECRET_BYTES);
    // What GetRandomPassword yields with ExcludePunctuation and no space: letters and digits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const samples = ['A'.repeat(WEBHOOK_SECRET_LENGTH), '9'.repeat(WEBHOOK_SECRET_LENGTH), 'z'.repeat(WEBHOOK_SECRET_LENGTH)];
    for (let i = 0; i < 200; i++) samples.push(Array.from({ length: WEBHOOK_SECRET_LENGTH }, () => alphabet[randomInt(alphabet.length)]).join(''));
    for (const generated of samples) {
      // The secret's value as Secrets Manager stores it: the template with the generated key.
      const value = JSON.stringify({ current: generated });
      expect(secretsFromJson(value, 'test')).toEqual([generated]);
      const key = parseSecret(generated);
      expect(key).toHaveLength(30);
      expect(key.toString('base64')).toBe(generated); // canonical: no bits lost or padded
      expect(parseSecret(`whsec_${generated}`).equals(key)).toBe(true); // what the receiver is given
    }
    // A rotated value with the prefix and a previous key is accepted as well.
    expect(secretsFromJson(JSON.stringify({ current: `whsec_${samples[3] ?? ''}`, previous: samples[4] }), 'test')).toHaveLength(2);
  });
});

describe('validation', () => {
  it('rejects a URL that is not https at synth, naming the field and the value', () => {
    expect(() => build({ nag: false, props: { url: 'http://x' } })).toThrow('alertWebhookUrl must be an https URL, got "http://x"');
    expect(() => build({ nag: false, props: { url: 'hooks.example.com/x' } })).toThrow('alertWebhookUrl must be an https URL, got "hooks.example.com/x"');
    expect(() => build({ nag: false, props: { url: '' } })).toThrow('alertWebhookUrl must be an https URL, got ""');
    expect(() => build({ nag: false, props: { url: 'https://user:pw@hooks.example.com/x' } })).toThrow(/alertWebhookUrl must not carry credentials/);
    expect(() => build({ nag: false, props: { url: 'https://user:pw@hooks.example.com/x' } })).not.toThrow(/pw/);
  });

  it('lets an unresolved token through (the function checks it at cold start)', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Tokens');
    const key = new kms.Key(stack, 'Key', { enableKeyRotation: true });
    const topics = new AlertTopics(stack, 'Alerts', { key });
    const url = new CfnParameter(stack, 'WebhookUrl').valueAsString;
    new WebhookDelivery(stack, 'Webhook', { topic: topics.topic, url, key });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ WEBHOOK_URL: { Ref: 'WebhookUrl' } }) } });
  });
});

describe('cdk-nag', () => {
  it('has zero unacknowledged AwsSolutions and Serverless findings', () => {
    expect(nagFindings).toEqual([]);
  });

  it('acknowledges the DLQ rule on the function with the on-failure destination, truthfully', () => {
    const reasons = built.delivery.handler.fn.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .filter(([id]) => id.endsWith('Serverless-LambdaDLQ'))
      .map(([, reason]) => reason);
    expect(reasons.some((r) => /invoked asynchronously by SNS/i.test(r) && /on-failure destination/.test(r))).toBe(true);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { DestinationConfig: { OnFailure: { Destination: Match.anyValue() } } });
  });
});
