import { type ArgumentsHost, Catch, HttpException } from '@nestjs/common';
import { BaseRpcExceptionFilter } from '@nestjs/microservices';
import { type Observable, throwError } from 'rxjs';

/**
 * Like Nest's default RPC filter, but an `HttpException` (e.g. `BadRequestException` from `ValidationPipe`)
 * reaches the caller as `{ status: 'error', statusCode, message }` instead of "Internal server error".
 * `app.useGlobalFilters(new MqttAsyncExceptionFilter())`.
 */
@Catch()
export class MqttAsyncExceptionFilter extends BaseRpcExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): Observable<unknown> {
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      const message = typeof body === 'object' && body !== null && 'message' in body ? body.message : body;
      return throwError(() => ({ status: 'error', statusCode: exception.getStatus(), message }));
    }
    return super.catch(exception, host);
  }
}
