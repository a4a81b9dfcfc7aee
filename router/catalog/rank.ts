/**
 * The constant of reciprocal rank fusion: a document's score is the sum over rankings of 1 / (k + its rank), rank 1
 * first. 60 is the value of Cormack, Clarke and Büttcher (SIGIR 2009), used as it is by the search engines that
 * offer hybrid search (Elasticsearch, OpenSearch, Azure AI Search); it was not tuned on our labelled requests.
 */
export const RRF_K = 60;

/**
 * Reciprocal rank fusion of rankings of the same documents (each an array of document indexes, best first; a
 * document may be absent from some). Returns every document of any ranking, best first; ties keep the order in
 * which documents were first seen.
 */
export function fuseRanks(rankings: readonly (readonly number[])[], k = RRF_K): number[] {
  const scores = new Map<number, number>();
  for (const ranking of rankings)
    ranking.forEach((document, index) => scores.set(document, (scores.get(document) ?? 0) + 1 / (k + index + 1)));
  return [...scores].sort((a, b) => b[1] - a[1]).map(([document]) => document);
}

/** Indexes of `vectors`, most similar to `query` first (dot product: the cosine of unit vectors). */
export function byCosine(query: Float32Array, vectors: readonly Float32Array[]): number[] {
  const similarity = vectors.map((vector) => {
    let dot = 0;
    for (let d = 0; d < query.length; d++) dot += (query[d] as number) * (vector[d] as number);
    return dot;
  });
  return similarity.map((_, index) => index).sort((a, b) => (similarity[b] as number) - (similarity[a] as number));
}
