/**
 * Synthesized CloudFormation template → plain Amazon States Language, ready for the local interpreter.
 *
 * The local runtime executes the very definitions that deploy, so this module resolves the
 * CloudFormation intrinsics CDK emits (`Fn::Join` of string fragments and `Ref`/`Fn::GetAtt`
 * objects, `DefinitionSubstitutions`) to deterministic fake physical IDs:
 *
 *   - every physical name is the resource's logical ID (explicit names such as `FunctionName` are
 *     ignored), so {@link logicalIdFromArn} can map any ARN/name/URL back without the template;
 *   - region `local-1`, account `000000000000`, partition `aws`.
 *
 * `Ref` follows CloudFormation's per-type semantics: e.g. a Lambda function or DynamoDB table `Ref`
 * is its *name*, a state machine or SNS topic `Ref` is its ARN, an SQS queue `Ref` is its URL.
 *
 * It also refuses definitions using features aws-local-stepfunctions silently ignores (JSONata,
 * variables, distributed-Map readers/writers/batchers, failure tolerance), because running them
 * locally would produce a behaviour that differs from AWS without any error.
 */
import { walkStates, walkSubMachines } from './asl-walk.js';
import type { JsonObject } from './json.js';
import { isPlainObject } from './json.js';

export const LOCAL_PARTITION = 'aws';
export const LOCAL_REGION = 'local-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_URL_SUFFIX = 'amazonaws.com';
export const LOCAL_STACK_NAME = 'local';
/** DynamoDB stream label used in every fake stream ARN (real ones are the stream creation time). */
export const LOCAL_STREAM_LABEL = '1970-01-01T00:00:00.000';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Condition?: string;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { readonly Type?: string; readonly Default?: unknown }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Conditions?: Record<string, unknown>;
}

export interface ResolveOptions {
  /** Values for template Parameters (otherwise their `Default` is used). */
  readonly parameters?: Readonly<Record<string, unknown>>;
}

export interface ExtractedStateMachine {
  readonly logicalId: string;
  /** Parsed ASL, all intrinsics and substitutions resolved. */
  readonly definition: JsonObject;
  /** Local ARN: `arn:aws:states:local-1:000000000000:stateMachine:<logicalId>`. */
  readonly arn: string;
  /** `STANDARD` unless the template says `EXPRESS` (affects execution-name idempotency). */
  readonly stateMachineType: 'STANDARD' | 'EXPRESS';
  /** Logical ID of the IAM role when `RoleArn` is a `Fn::GetAtt [Role, Arn]`. */
  readonly roleLogicalId?: string;
  /** The declared `StateMachineName`, resolved, if the template sets one (informational only). */
  readonly stateMachineName?: string;
}

export class IntrinsicResolutionError extends Error {
  override readonly name = 'IntrinsicResolutionError';
}

export class UnsupportedDefinitionError extends Error {
  override readonly name = 'UnsupportedDefinitionError';
}

// ---------------------------------------------------------------------------------------------
// Physical IDs
// ---------------------------------------------------------------------------------------------

const P = LOCAL_PARTITION;
const R = LOCAL_REGION;
const A = LOCAL_ACCOUNT;

export const localArn = {
  lambdaFunction: (id: string): string => `arn:${P}:lambda:${R}:${A}:function:${id}`,
  stateMachine: (id: string): string => `arn:${P}:states:${R}:${A}:stateMachine:${id}`,
  dynamoTable: (id: string): string => `arn:${P}:dynamodb:${R}:${A}:table/${id}`,
  dynamoStream: (id: string): string => `arn:${P}:dynamodb:${R}:${A}:table/${id}/stream/${LOCAL_STREAM_LABEL}`,
  snsTopic: (id: string): string => `arn:${P}:sns:${R}:${A}:${id}`,
  sqsQueue: (id: string): string => `arn:${P}:sqs:${R}:${A}:${id}`,
  sqsQueueUrl: (id: string): string => `https://sqs.${R}.${LOCAL_URL_SUFFIX}/${A}/${id}`,
  iamRole: (id: string): string => `arn:${P}:iam::${A}:role/${id}`,
  eventBus: (id: string): string => `arn:${P}:events:${R}:${A}:event-bus/${id}`,
  scheduleGroup: (id: string): string => `arn:${P}:scheduler:${R}:${A}:schedule-group/${id}`,
  logGroup: (id: string): string => `arn:${P}:logs:${R}:${A}:log-group:${id}:*`,
};

interface TypeRules {
  readonly ref: (id: string) => string;
  readonly attrs: Readonly<Record<string, (id: string) => string>>;
}

const self = (id: string): string => id;

/** CloudFormation `Ref` / `Fn::GetAtt` semantics for the resource types our stacks use. */
const TYPE_RULES: Readonly<Record<string, TypeRules>> = {
  'AWS::Lambda::Function': { ref: self, attrs: { Arn: localArn.lambdaFunction } },
  'AWS::Lambda::Alias': { ref: (id) => `${localArn.lambdaFunction(id)}:live`, attrs: {} },
  'AWS::StepFunctions::StateMachine': { ref: localArn.stateMachine, attrs: { Arn: localArn.stateMachine, Name: self } },
  'AWS::DynamoDB::Table': { ref: self, attrs: { Arn: localArn.dynamoTable, StreamArn: localArn.dynamoStream } },
  'AWS::DynamoDB::GlobalTable': { ref: self, attrs: { Arn: localArn.dynamoTable, StreamArn: localArn.dynamoStream } },
  'AWS::SNS::Topic': { ref: localArn.snsTopic, attrs: { TopicArn: localArn.snsTopic, TopicName: self } },
  'AWS::SQS::Queue': {
    ref: localArn.sqsQueueUrl,
    attrs: { Arn: localArn.sqsQueue, QueueName: self, QueueUrl: localArn.sqsQueueUrl },
  },
  'AWS::IAM::Role': { ref: self, attrs: { Arn: localArn.iamRole, RoleId: (id) => `AROA${id.toUpperCase()}` } },
  'AWS::Events::EventBus': { ref: self, attrs: { Arn: localArn.eventBus, Name: self } },
  'AWS::Scheduler::ScheduleGroup': { ref: self, attrs: { Arn: localArn.scheduleGroup } },
  'AWS::Logs::LogGroup': { ref: self, attrs: { Arn: localArn.logGroup } },
  'AWS::S3::Bucket': { ref: (id) => id.toLowerCase(), attrs: { Arn: (id) => `arn:${P}:s3:::${id.toLowerCase()}` } },
  'AWS::SSM::Parameter': { ref: self, attrs: {} },
};

/** Fallback for other types: `Ref` → logical ID, `Arn` → `arn:aws:<service>:local-1:000000000000:<kind>/<id>`. */
function genericRules(type: string): TypeRules {
  const [, service = 'unknown', kind = 'resource'] = type.split('::');
  const arn = (id: string): string => `arn:${P}:${service.toLowerCase()}:${R}:${A}:${kind.toLowerCase()}/${id}`;
  return { ref: self, attrs: { Arn: arn } };
}

/**
 * Maps a local ARN / queue URL / physical name back to the logical ID it was derived from.
 * Plain names are returned unchanged (local physical names *are* logical IDs). Qualified Lambda
 * ARNs (`...:function:Fn:alias`) and stream ARNs map to their function / table.
 */
export function logicalIdFromArn(arnOrName: string): string | undefined {
  if (arnOrName.length === 0) return undefined;
  if (arnOrName.startsWith('https://')) {
    const last = arnOrName.split('/').filter((s) => s.length > 0).pop();
    return last;
  }
  if (!arnOrName.startsWith('arn:')) return arnOrName;
  const parts = arnOrName.split(':');
  const service = parts[2];
  const resource = parts.slice(5).join(':');
  switch (service) {
    case 'lambda': {
      // function:Name[:qualifier]
      const [kind, name] = resource.split(':');
      return kind === 'function' ? name : undefined;
    }
    case 'states': {
      // stateMachine:Name[:version|alias] | execution:Machine:Exec | express:Machine:Exec:Id
      const [kind, name] = resource.split(':');
      return kind === 'stateMachine' || kind === 'execution' || kind === 'express' ? name : undefined;
    }
    case 'dynamodb': {
      // table/Name[/stream/label | /index/name]
      const [kind, name] = resource.split('/');
      return kind === 'table' ? name : undefined;
    }
    case 'sns':
    case 'sqs':
      return resource.length > 0 ? resource : undefined;
    case 'logs': {
      const [kind, name] = resource.split(':');
      return kind === 'log-group' ? name : undefined;
    }
    case 's3':
      return resource.length > 0 ? resource : undefined;
    default: {
      const segments = resource.split(/[/:]/).filter((s) => s.length > 0);
      return segments.length >= 2 ? segments[segments.length - 1] : undefined;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Intrinsic resolution
// ---------------------------------------------------------------------------------------------

/** `AWS::NoValue`: removes the enclosing property / list element. */
const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

const PSEUDO_PARAMETERS: Readonly<Record<string, unknown>> = {
  'AWS::Partition': LOCAL_PARTITION,
  'AWS::Region': LOCAL_REGION,
  'AWS::AccountId': LOCAL_ACCOUNT,
  'AWS::URLSuffix': LOCAL_URL_SUFFIX,
  'AWS::StackName': LOCAL_STACK_NAME,
  'AWS::StackId': `arn:${P}:cloudformation:${R}:${A}:stack/${LOCAL_STACK_NAME}/00000000-0000-0000-0000-000000000000`,
  'AWS::NotificationARNs': [],
  'AWS::NoValue': NO_VALUE,
};

class Resolver {
  constructor(
    private readonly template: CfnTemplate,
    private readonly options: ResolveOptions,
  ) {}

  private fail(path: string, message: string): never {
    throw new IntrinsicResolutionError(`${message} (at ${path})`);
  }

  resolve(value: unknown, path: string): unknown {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      value.forEach((v, i) => {
        const r = this.resolve(v, `${path}[${i}]`);
        if (r !== NO_VALUE) out.push(r);
      });
      return out;
    }
    if (!isPlainObject(value)) return value;
    const keys = Object.keys(value);
    const only = keys.length === 1 ? keys[0] : undefined;
    if (only !== undefined && (only === 'Ref' || only.startsWith('Fn::'))) {
      return this.intrinsic(only, value[only], `${path}.${only}`);
    }
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const r = this.resolve(value[k], `${path}.${k}`);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  private str(value: unknown, path: string, what: string): string {
    const r = this.resolve(value, path);
    if (typeof r === 'string') return r;
    if (typeof r === 'number' || typeof r === 'boolean') return String(r);
    return this.fail(path, `${what} must resolve to a string, got ${JSON.stringify(r)}`);
  }

  private list(value: unknown, path: string, what: string): unknown[] {
    const r = this.resolve(value, path);
    if (!Array.isArray(r)) this.fail(path, `${what} must resolve to a list, got ${JSON.stringify(r)}`);
    return r;
  }

  private intrinsic(name: string, arg: unknown, path: string): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(this.str(arg, path, 'Ref target'), path);
      case 'Fn::GetAtt': {
        let target: string;
        let attr: string;
        if (typeof arg === 'string') {
          const dot = arg.indexOf('.');
          if (dot < 0) this.fail(path, `Fn::GetAtt string form must be "LogicalId.Attribute", got "${arg}"`);
          target = arg.slice(0, dot);
          attr = arg.slice(dot + 1);
        } else {
          const parts = this.list(arg, path, 'Fn::GetAtt');
          if (parts.length !== 2) this.fail(path, 'Fn::GetAtt needs [LogicalId, Attribute]');
          target = this.str(parts[0], `${path}[0]`, 'Fn::GetAtt logical ID');
          attr = this.str(parts[1], `${path}[1]`, 'Fn::GetAtt attribute');
        }
        return this.getAtt(target, attr, path);
      }
      case 'Fn::Join': {
        const parts = this.list(arg, path, 'Fn::Join');
        if (parts.length !== 2) this.fail(path, 'Fn::Join needs [delimiter, list]');
        const delimiter = this.str(parts[0], `${path}[0]`, 'Fn::Join delimiter');
        const items = this.list(parts[1], `${path}[1]`, 'Fn::Join list');
        return items.map((item, i) => this.str(item, `${path}[1][${i}]`, 'Fn::Join element')).join(delimiter);
      }
      case 'Fn::Select': {
        const parts = this.list(arg, path, 'Fn::Select');
        if (parts.length !== 2) this.fail(path, 'Fn::Select needs [index, list]');
        const index = Number(this.str(parts[0], `${path}[0]`, 'Fn::Select index'));
        const items = this.list(parts[1], `${path}[1]`, 'Fn::Select list');
        if (!Number.isInteger(index) || index < 0 || index >= items.length) {
          this.fail(path, `Fn::Select index ${index} out of range (list has ${items.length} elements)`);
        }
        return items[index];
      }
      case 'Fn::Split': {
        const parts = this.list(arg, path, 'Fn::Split');
        if (parts.length !== 2) this.fail(path, 'Fn::Split needs [delimiter, string]');
        const delimiter = this.str(parts[0], `${path}[0]`, 'Fn::Split delimiter');
        return this.str(parts[1], `${path}[1]`, 'Fn::Split source').split(delimiter);
      }
      case 'Fn::Sub':
        return this.sub(arg, path);
      case 'Fn::Base64':
        return Buffer.from(this.str(arg, path, 'Fn::Base64 input'), 'utf8').toString('base64');
      case 'Fn::GetAZs':
        return [`${LOCAL_REGION}a`, `${LOCAL_REGION}b`, `${LOCAL_REGION}c`];
      case 'Fn::FindInMap': {
        const parts = this.list(arg, path, 'Fn::FindInMap');
        if (parts.length !== 3) this.fail(path, 'Fn::FindInMap needs [MapName, TopKey, SecondKey]');
        const [m, top, second] = parts.map((p, i) => this.str(p, `${path}[${i}]`, 'Fn::FindInMap key'));
        const found = this.template.Mappings?.[m ?? '']?.[top ?? '']?.[second ?? ''];
        if (found === undefined) this.fail(path, `Fn::FindInMap: no mapping ${m}.${top}.${second}`);
        return this.resolve(found, path);
      }
      case 'Fn::If': {
        const parts = Array.isArray(arg) ? arg : [];
        if (parts.length !== 3 || typeof parts[0] !== 'string') this.fail(path, 'Fn::If needs [ConditionName, then, else]');
        const chosen = this.condition(parts[0], path) ? parts[1] : parts[2];
        return this.resolve(chosen, path);
      }
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
        return this.evalCondition({ [name]: arg }, path);
      case 'Fn::ToJsonString':
        return JSON.stringify(this.resolve(arg, path));
      default:
        return this.fail(path, `Unsupported intrinsic function ${name}`);
    }
  }

  private ref(target: string, path: string): unknown {
    if (Object.hasOwn(PSEUDO_PARAMETERS, target)) return PSEUDO_PARAMETERS[target];
    const resource = this.template.Resources?.[target];
    if (resource !== undefined) return (TYPE_RULES[resource.Type] ?? genericRules(resource.Type)).ref(target);
    const param = this.template.Parameters?.[target];
    if (param !== undefined) {
      const supplied = this.options.parameters?.[target];
      if (supplied !== undefined) return supplied;
      if (param.Default !== undefined) {
        return param.Type?.startsWith('List<') || param.Type === 'CommaDelimitedList'
          ? String(param.Default).split(',')
          : param.Default;
      }
      return this.fail(path, `Ref to parameter ${target} which has no Default and no supplied value`);
    }
    return this.fail(path, `Ref to unknown resource or parameter ${target}`);
  }

  private getAtt(target: string, attr: string, path: string): string {
    const resource = this.template.Resources?.[target];
    if (resource === undefined) this.fail(path, `Fn::GetAtt on unknown resource ${target}`);
    const rules = TYPE_RULES[resource.Type] ?? genericRules(resource.Type);
    const fn = rules.attrs[attr];
    if (fn === undefined) this.fail(path, `Fn::GetAtt ${target}.${attr}: attribute not supported locally for ${resource.Type}`);
    return fn(target);
  }

  private sub(arg: unknown, path: string): string {
    let text: string;
    let vars: Record<string, unknown> = {};
    if (typeof arg === 'string') {
      text = arg;
    } else if (Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && isPlainObject(arg[1])) {
      text = arg[0];
      vars = arg[1];
    } else {
      return this.fail(path, 'Fn::Sub needs a string or [string, {vars}]');
    }
    return text.replace(/\$\{([^}]*)\}/g, (whole, expr: string) => {
      // `${!Literal}` is an escape for the literal text `${Literal}`.
      if (expr.startsWith('!')) return `\${${expr.slice(1)}}`;
      const name = expr.trim();
      if (Object.hasOwn(vars, name)) return this.str(vars[name], `${path}.${name}`, `Fn::Sub variable ${name}`);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return this.getAtt(name.slice(0, dot), name.slice(dot + 1), `${path}.${whole}`);
      const r = this.ref(name, `${path}.${whole}`);
      if (typeof r !== 'string') this.fail(path, `Fn::Sub placeholder ${whole} did not resolve to a string`);
      return r;
    });
  }

  condition(name: string, path: string): boolean {
    const def = this.template.Conditions?.[name];
    if (def === undefined) this.fail(path, `Unknown condition ${name}`);
    return this.evalCondition(def, `Conditions.${name}`);
  }

  private evalCondition(expr: unknown, path: string): boolean {
    if (typeof expr === 'boolean') return expr;
    if (!isPlainObject(expr)) this.fail(path, `Invalid condition expression ${JSON.stringify(expr)}`);
    const [op] = Object.keys(expr);
    const arg = op === undefined ? undefined : expr[op];
    const args = Array.isArray(arg) ? arg : [];
    switch (op) {
      case 'Condition':
        return this.condition(String(arg), path);
      case 'Fn::Equals': {
        if (args.length !== 2) this.fail(path, 'Fn::Equals needs two values');
        return JSON.stringify(this.resolve(args[0], path)) === JSON.stringify(this.resolve(args[1], path));
      }
      case 'Fn::Not':
        return !this.evalCondition(args[0], `${path}.Fn::Not`);
      case 'Fn::And':
        return args.every((a, i) => this.evalCondition(a, `${path}.Fn::And[${i}]`));
      case 'Fn::Or':
        return args.some((a, i) => this.evalCondition(a, `${path}.Fn::Or[${i}]`));
      default:
        return this.fail(path, `Unsupported condition function ${String(op)}`);
    }
  }
}

/**
 * Resolves every CloudFormation intrinsic inside `value` against `template`.
 * Unknown intrinsics throw an {@link IntrinsicResolutionError} naming the function and the path.
 */
export function resolveIntrinsics(value: unknown, template: CfnTemplate, options: ResolveOptions = {}): unknown {
  const r = new Resolver(template, options).resolve(value, '$');
  return r === NO_VALUE ? undefined : r;
}

// ---------------------------------------------------------------------------------------------
// Definition extraction
// ---------------------------------------------------------------------------------------------

/** Applies Step Functions `DefinitionSubstitutions`: a plain textual `${Key}` replacement. */
function substitute(text: string, substitutions: Record<string, unknown>, logicalId: string): string {
  let out = text;
  for (const [key, raw] of Object.entries(substitutions)) {
    let value: string;
    if (typeof raw === 'string') value = raw;
    else if (typeof raw === 'number' || typeof raw === 'boolean') value = String(raw);
    else throw new IntrinsicResolutionError(`${logicalId}: DefinitionSubstitutions.${key} did not resolve to a scalar`);
    out = out.split(`\${${key}}`).join(value);
  }
  return out;
}

/** Fields the local interpreter ignores without error; each one changes behaviour vs AWS. */
const IGNORED_STATE_FIELDS: ReadonlyArray<readonly [field: string, why: string]> = [
  ['Assign', 'workflow variables (Assign) are not implemented by aws-local-stepfunctions'],
  ['ItemReader', 'distributed Map ItemReader is not implemented'],
  ['ItemBatcher', 'distributed Map ItemBatcher is not implemented'],
  ['ResultWriter', 'distributed Map ResultWriter is not implemented'],
  ['ToleratedFailurePercentage', 'Map failure tolerance is not implemented'],
  ['ToleratedFailurePercentagePath', 'Map failure tolerance is not implemented'],
  ['ToleratedFailureCount', 'Map failure tolerance is not implemented'],
  ['ToleratedFailureCountPath', 'Map failure tolerance is not implemented'],
  ['Arguments', 'Arguments is a JSONata-only field'],
  ['Output', 'Output is a JSONata-only field'],
];

/**
 * Throws {@link UnsupportedDefinitionError} if `definition` uses a feature that
 * aws-local-stepfunctions would silently ignore. Checks nested Parallel branches and Map processors.
 */
export function assertLocallySupported(definition: unknown, stateMachine: string): void {
  const refuse = (where: string, why: string): never => {
    throw new UnsupportedDefinitionError(`State machine ${stateMachine}, ${where}: ${why}; it cannot run faithfully locally`);
  };
  walkSubMachines(definition, (machine, path) => {
    if (machine['QueryLanguage'] === 'JSONata') refuse(`definition ${path}`, 'QueryLanguage "JSONata" is not supported');
  });
  walkStates(definition, ({ name, state, path }) => {
    const where = `state "${name}" (${path})`;
    if (state['QueryLanguage'] === 'JSONata') refuse(where, 'QueryLanguage "JSONata" is not supported');
    for (const [field, why] of IGNORED_STATE_FIELDS) {
      if (state[field] !== undefined) refuse(where, why);
    }
    const rules = [...asArray(state['Choices']), ...asArray(state['Catch'])];
    for (const rule of rules) {
      if (isPlainObject(rule) && (rule['Assign'] !== undefined || rule['Output'] !== undefined)) {
        refuse(where, 'Assign/Output on a Choice rule or Catcher is not implemented');
      }
    }
  });
}

function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * Extracts every `AWS::StepFunctions::StateMachine` in `template` as plain ASL, keyed by logical ID.
 * Resources whose `Condition` is false are skipped.
 */
export function extractStateMachines(template: CfnTemplate, options: ResolveOptions = {}): Map<string, ExtractedStateMachine> {
  const resolver = new Resolver(template, options);
  const out = new Map<string, ExtractedStateMachine>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::StepFunctions::StateMachine') continue;
    if (resource.Condition !== undefined && !resolver.condition(resource.Condition, `Resources.${logicalId}.Condition`)) continue;
    const props = resource.Properties ?? {};
    const at = `Resources.${logicalId}.Properties`;

    let text: string;
    if (props['DefinitionString'] !== undefined) {
      const r = resolver.resolve(props['DefinitionString'], `${at}.DefinitionString`);
      if (typeof r !== 'string') throw new IntrinsicResolutionError(`${logicalId}: DefinitionString did not resolve to a string`);
      text = r;
    } else if (props['Definition'] !== undefined) {
      text = JSON.stringify(resolver.resolve(props['Definition'], `${at}.Definition`));
    } else if (props['DefinitionS3Location'] !== undefined) {
      throw new UnsupportedDefinitionError(`State machine ${logicalId}: DefinitionS3Location is not supported locally`);
    } else {
      throw new UnsupportedDefinitionError(`State machine ${logicalId} has no definition`);
    }

    const subs = props['DefinitionSubstitutions'];
    if (subs !== undefined) {
      const resolved = resolver.resolve(subs, `${at}.DefinitionSubstitutions`);
      if (!isPlainObject(resolved)) throw new IntrinsicResolutionError(`${logicalId}: DefinitionSubstitutions is not an object`);
      text = substitute(text, resolved, logicalId);
    }

    let definition: unknown;
    try {
      definition = JSON.parse(text);
    } catch (e) {
      throw new UnsupportedDefinitionError(`State machine ${logicalId}: resolved definition is not valid JSON (${(e as Error).message})`);
    }
    if (!isPlainObject(definition)) throw new UnsupportedDefinitionError(`State machine ${logicalId}: definition is not an object`);
    assertLocallySupported(definition, logicalId);

    const roleArn = props['RoleArn'];
    const roleLogicalId = roleLogicalIdOf(roleArn);
    const declaredName = props['StateMachineName'] !== undefined ? resolver.resolve(props['StateMachineName'], `${at}.StateMachineName`) : undefined;
    const type = props['StateMachineType'] === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';

    out.set(logicalId, {
      logicalId,
      definition: definition as JsonObject,
      arn: localArn.stateMachine(logicalId),
      stateMachineType: type,
      ...(roleLogicalId !== undefined ? { roleLogicalId } : {}),
      ...(typeof declaredName === 'string' ? { stateMachineName: declaredName } : {}),
    });
  }
  return out;
}

function roleLogicalIdOf(roleArn: unknown): string | undefined {
  if (!isPlainObject(roleArn)) return undefined;
  const getAtt = roleArn['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}
