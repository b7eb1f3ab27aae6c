import { describe, expect, it } from 'vitest';
import { LambdaFunctionError, TaskFailure, toStatesError } from '../../local/task-errors.js';

class SdkError extends Error {
  constructor(name: string) {
    super(`${name} happened`);
    this.name = name;
  }
}

describe('toStatesError', () => {
  it.each([
    ['arn:aws:states:::dynamodb:updateItem', 'ConditionalCheckFailedException', 'DynamoDB.ConditionalCheckFailedException'],
    ['arn:aws:states:::sqs:sendMessage', 'QueueDoesNotExist', 'SQS.QueueDoesNotExist'],
    ['arn:aws:states:::aws-sdk:dynamodb:getItem', 'ResourceNotFoundException', 'DynamoDb.ResourceNotFoundException'],
    ['arn:aws:states:::aws-sdk:s3:createBucket', 'BucketAlreadyExists', 'S3.BucketAlreadyExistsException'],
    ['arn:aws:states:::events:putEvents', 'InternalException', 'InternalException'],
  ])('%s: %s → %s', (resource, name, expected) => {
    const e = toStatesError(resource, new SdkError(name));
    expect(e.name).toBe(expected);
    expect(e.message).toBe(`${name} happened`);
  });

  it('reports Lambda handler errors as the runtime does (errorType = name, cause = payload JSON)', () => {
    const thrown = new SdkError('RateLimited');
    for (const resource of ['arn:aws:states:::lambda:invoke', 'arn:aws:lambda:local-1:000000000000:function:F']) {
      const e = toStatesError(resource, thrown);
      expect(e).toBeInstanceOf(LambdaFunctionError);
      expect(e.name).toBe('RateLimited');
      const cause: unknown = JSON.parse(e.message);
      expect(cause).toMatchObject({ errorType: 'RateLimited', errorMessage: 'RateLimited happened' });
    }
    expect(toStatesError('arn:aws:states:::lambda:invoke', 'plain string').name).toBe('Error');
  });

  it('passes explicit failures and already-qualified names through', () => {
    const explicit = new TaskFailure('My.Error', 'why');
    expect(toStatesError('arn:aws:states:::dynamodb:putItem', explicit)).toBe(explicit);
    expect(toStatesError('arn:aws:states:::dynamodb:putItem', new SdkError('States.Timeout')).name).toBe('States.Timeout');
  });
});
