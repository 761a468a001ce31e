// Placeholder entry point; the real handler lands in the next commit.
export const handler = async (): Promise<{ batchItemFailures: never[] }> => ({ batchItemFailures: [] });
