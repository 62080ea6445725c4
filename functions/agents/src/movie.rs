//! Movie production: a story is written and reviewed until approved (at most three
//! revisions), a person picks one of four visual concepts, characters are designed, episodes
//! are written in parallel, and the production package is assembled.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, Approved, JsonShape, Prompt};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct MovieBrief {
    pub title: String,
    pub logline: String,
    pub genre: String,
    pub episodes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Story {
    pub brief: MovieBrief,
    pub synopsis: String,
    pub beats: Vec<String>,
    pub revision: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonShape)]
#[serde(rename_all = "snake_case")]
pub enum StoryVerdict {
    Approved,
    NeedsRevision,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct StoryReview {
    pub story: Story,
    pub verdict: StoryVerdict,
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct Concept {
    pub id: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct ConceptBoard {
    pub story: Story,
    pub concepts: Vec<Concept>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct EpisodeOutline {
    pub number: u32,
    pub title: String,
    pub concept: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct CastSheet {
    pub title: String,
    pub concept: String,
    pub characters: Vec<String>,
    pub episodes: Vec<EpisodeOutline>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct EpisodeScript {
    pub number: u32,
    pub title: String,
    pub scenes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonShape)]
pub struct ProductionPackage {
    pub episodes: u32,
    pub scenes: u32,
}

/// Writes the first draft of the story.
#[agent(capabilities = ["story-writing"])]
pub async fn story_writer(brief: MovieBrief, ctx: AgentContext) -> Result<Story, AgentError> {
    let synopsis = ctx
        .model
        .complete(&Prompt::new("Write a synopsis.", brief.logline.clone()))
        .await?;
    Ok(Story {
        beats: vec!["setup".into(), "confrontation".into(), "resolution".into()],
        synopsis: synopsis.text,
        brief,
        revision: 0,
    })
}

/// Approves a story once it has enough beats and has been revised at least once.
#[agent(capabilities = ["story-review"])]
pub async fn story_reviewer(story: Story) -> Result<StoryReview, AgentError> {
    let verdict = if story.revision >= 1 && story.beats.len() >= 4 {
        StoryVerdict::Approved
    } else {
        StoryVerdict::NeedsRevision
    };
    let notes = match verdict {
        StoryVerdict::Approved => Vec::new(),
        StoryVerdict::NeedsRevision => vec!["add a midpoint twist".into()],
    };
    Ok(StoryReview {
        story,
        verdict,
        notes,
    })
}

/// Revises the story according to the review notes.
#[agent(capabilities = ["story-revision"])]
pub async fn story_reviser(review: StoryReview) -> Result<Story, AgentError> {
    let mut story = review.story;
    story.beats.insert(2, "midpoint twist".into());
    story.revision += 1;
    Ok(story)
}

/// Proposes four visual concepts.
#[agent(capabilities = ["concept-art"])]
pub async fn concept_artist(review: StoryReview) -> Result<ConceptBoard, AgentError> {
    let concepts = (1..=4)
        .map(|i| Concept {
            id: format!("concept-{i}"),
            description: format!("{} look #{i}", review.story.brief.genre),
        })
        .collect();
    Ok(ConceptBoard {
        story: review.story,
        concepts,
    })
}

/// Designs the cast for the chosen concept and outlines the episodes.
#[agent(capabilities = ["character-design"])]
pub async fn character_designer(board: Approved<ConceptBoard>) -> Result<CastSheet, AgentError> {
    let concept =
        board.approval.choice.clone().ok_or_else(|| {
            AgentError::InvalidInput("the concept gate delivered no choice".into())
        })?;
    let story = board.subject.story;
    Ok(CastSheet {
        title: story.brief.title.clone(),
        characters: vec!["protagonist".into(), "rival".into(), "mentor".into()],
        episodes: (1..=story.brief.episodes)
            .map(|n| EpisodeOutline {
                number: n,
                title: format!("{} — part {n}", story.brief.title),
                concept: concept.clone(),
            })
            .collect(),
        concept,
    })
}

/// Writes one episode.
#[agent(capabilities = ["episode-writing"])]
pub async fn episode_writer(outline: EpisodeOutline) -> Result<EpisodeScript, AgentError> {
    Ok(EpisodeScript {
        scenes: vec![
            format!("cold open ({})", outline.concept),
            "act one".into(),
            "act two".into(),
        ],
        number: outline.number,
        title: outline.title,
    })
}

/// Assembles the production package.
#[agent(capabilities = ["assembly"])]
pub async fn production_assembler(
    scripts: Vec<EpisodeScript>,
) -> Result<ProductionPackage, AgentError> {
    Ok(ProductionPackage {
        episodes: scripts.len() as u32,
        scenes: scripts.iter().map(|s| s.scenes.len() as u32).sum(),
    })
}

workflow! {
    /// Story (revised until approved) → pick 1 of 4 concepts → characters → parallel episodes.
    pub MovieProduction(MovieBrief) {
        write_story = story_writer -> review_story;
        review_story = story_reviewer -> story_verdict;
        story_verdict = match verdict {
            StoryVerdict::Approved => concepts,
            StoryVerdict::NeedsRevision => revisions,
        };
        revisions = loop(max = 3, exhausted = fail) -> revise_story;
        revise_story = story_reviser -> review_story;
        concepts = concept_artist -> pick_concept;
        pick_concept = approval(
            subject = "Pick the visual concept",
            choices = ["concept-1", "concept-2", "concept-3", "concept-4"],
            timeout = 172800,
            on_reject = fail,
            on_timeout = fail,
        ) -> characters;
        characters = character_designer -> episodes;
        episodes = map(episodes, max_concurrency = 4, max_items = 24) { write_episode = episode_writer } -> assemble;
        assemble = production_assembler -> end;
    }
}
