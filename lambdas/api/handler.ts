// Placeholder entry point; the real handler lands in the next commit.
export const handler = async (): Promise<{ statusCode: number }> => ({ statusCode: 503 });
