//! Movie production: a story is written and reviewed until approved (at most three
//! revisions), a person picks one of four visual concepts, characters are designed, episodes
//! are written in parallel, and the production package is assembled.

use serde::{Deserialize, Serialize};
use switchyard_sdk::{agent, workflow, AgentContext, AgentError, Approved, JsonShape, Prompt};

use crate::text::{one_line, tidy};

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
    /// The chosen concept's id.
    pub concept: String,
    /// The chosen concept's description.
    pub look: String,
    /// The story's synopsis.
    pub premise: String,
    pub characters: Vec<String>,
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

/// Beats a story needs at least: a setup, a turn and a resolution.
const MIN_BEATS: usize = 3;
const MAX_BEATS_PER_ACT: usize = 5;
const MAX_NOTES: usize = 5;
const MAX_CHARACTERS: usize = 8;
const MAX_SCENES: usize = 12;
/// The note a first draft gets when the review has nothing more specific to say.
const FIRST_DRAFT_NOTE: &str =
    "First drafts get one editorial pass: tighten the synopsis and sharpen each beat";

/// A story as the writers answer it: the synopsis and each act's beats.
#[derive(Debug, Deserialize, JsonShape)]
struct StoryOutline {
    synopsis: String,
    act_one: Vec<String>,
    act_two: Vec<String>,
    act_three: Vec<String>,
}

impl StoryOutline {
    fn into_story(self, brief: MovieBrief, revision: u32) -> Story {
        let beats = [self.act_one, self.act_two, self.act_three]
            .into_iter()
            .flat_map(|act| tidy(act, MAX_BEATS_PER_ACT))
            .collect();
        Story {
            brief,
            synopsis: self.synopsis.trim().to_owned(),
            beats,
            revision,
        }
    }
}

/// The brief as every writer reads it, under a first line naming the task.
fn brief_text(task: &str, brief: &MovieBrief) -> String {
    format!(
        "{task} for \"{}\"\nLogline: {}\nGenre: {}\nEpisodes: {}",
        brief.title, brief.logline, brief.genre, brief.episodes
    )
}

/// A story's synopsis and numbered beats.
fn story_text(story: &Story) -> String {
    let beats: Vec<String> = story
        .beats
        .iter()
        .enumerate()
        .map(|(i, beat)| format!("{}. {beat}", i + 1))
        .collect();
    format!(
        "Synopsis:\n{}\n\nBeats:\n{}",
        story.synopsis,
        beats.join("\n")
    )
}

const STORY_WRITER_SYSTEM: &str = "\
You are a screenwriter developing a series from a brief. Write the story:
- synopsis: 120 to 200 words in the present tense, naming the protagonist, what they want, \
what stands in their way and how it ends;
- act_one, act_two, act_three: the story's beats in order, two to four per act, one sentence \
each. Act one sets up the world and the conflict, act two escalates it through a midpoint \
reversal, act three resolves it.
Keep to the brief's genre and logline, with enough story for the number of episodes.";

/// Writes the first draft of the story.
#[agent(capabilities = ["story-writing"])]
pub async fn story_writer(brief: MovieBrief, ctx: AgentContext) -> Result<Story, AgentError> {
    let outline: StoryOutline = ctx
        .model
        .ask(
            Prompt::new(STORY_WRITER_SYSTEM, brief_text("Story", &brief))
                .max_tokens(1024)
                .temperature(0.8),
        )
        .await?;
    Ok(outline.into_story(brief, 0))
}

const STORY_REVIEW_SYSTEM: &str = "\
You are a story editor. Judge the story below against its brief:
- it delivers the logline's premise, in the brief's genre;
- the beats build: a clear setup, a midpoint that turns the story, rising stakes, and a \
resolution that pays off the setup;
- the protagonist drives the events;
- there is enough story for the number of episodes.
Answer `approved` when it is ready for production, otherwise `needs_revision`. Either way, \
notes are concrete changes to make (no praise), at most five.";

/// The editor's judgement.
#[derive(Debug, Deserialize, JsonShape)]
struct StoryJudgement {
    verdict: StoryVerdict,
    notes: Vec<String>,
}

/// What the code requires of any story, whatever the editor thinks of it.
fn story_problems(story: &Story) -> Vec<String> {
    let mut problems = Vec::new();
    if story.synopsis.trim().is_empty() {
        problems.push("Write a synopsis".to_owned());
    }
    if story.beats.len() < MIN_BEATS {
        problems.push(format!(
            "The story has {} beats; it needs at least {MIN_BEATS}: a setup, a turn and a \
             resolution",
            story.beats.len()
        ));
    }
    problems
}

/// Approves a story the model approves once it has been revised at least once and has at
/// least three beats.
#[agent(capabilities = ["story-review"])]
pub async fn story_reviewer(story: Story, ctx: AgentContext) -> Result<StoryReview, AgentError> {
    let judgement: StoryJudgement = ctx
        .model
        .ask(
            Prompt::new(
                STORY_REVIEW_SYSTEM,
                format!(
                    "{}\nRevision: {}\n\n{}",
                    brief_text("Story review", &story.brief),
                    story.revision,
                    story_text(&story)
                ),
            )
            .temperature(0.0),
        )
        .await?;
    let mut notes = story_problems(&story);
    let verdict = match judgement.verdict {
        StoryVerdict::Approved if notes.is_empty() && story.revision >= 1 => StoryVerdict::Approved,
        _ => StoryVerdict::NeedsRevision,
    };
    if verdict == StoryVerdict::Approved {
        notes.clear();
    } else {
        notes.extend(tidy(judgement.notes, MAX_NOTES));
        if notes.is_empty() {
            notes.push(FIRST_DRAFT_NOTE.to_owned());
        }
    }
    Ok(StoryReview {
        story,
        verdict,
        notes,
    })
}

const STORY_REVISER_SYSTEM: &str = "\
You are the screenwriter revising your story after the editor's notes. Address every note and \
keep what the notes do not touch. Answer with the whole revised story: the synopsis (120 to 200 \
words, present tense) and each act's beats (two to four per act, one sentence each).";

/// Revises the story according to the review notes.
#[agent(capabilities = ["story-revision"])]
pub async fn story_reviser(review: StoryReview, ctx: AgentContext) -> Result<Story, AgentError> {
    let notes: Vec<String> = review.notes.iter().map(|n| format!("- {n}")).collect();
    let story = review.story;
    let outline: StoryOutline = ctx
        .model
        .ask(
            Prompt::new(
                STORY_REVISER_SYSTEM,
                format!(
                    "{}\n\nEditor's notes:\n{}\n\n{}",
                    brief_text(&format!("Revision {}", story.revision + 1), &story.brief),
                    notes.join("\n"),
                    story_text(&story)
                ),
            )
            .max_tokens(1024)
            .temperature(0.6),
        )
        .await?;
    Ok(outline.into_story(story.brief, story.revision + 1))
}

const CONCEPT_ARTIST_SYSTEM: &str = "\
You are the production's concept artist. Propose four distinct visual concepts for the series \
below, one or two sentences each: palette, lighting, camera language and a reference point (a \
film, a painter or an era). Make them real alternatives for the director to choose between, \
each true to the genre and the story.";

/// Four concepts, in the order of the gate's choices.
#[derive(Debug, Deserialize, JsonShape)]
struct ConceptSketches {
    concept_1: String,
    concept_2: String,
    concept_3: String,
    concept_4: String,
}

/// Proposes four visual concepts.
#[agent(capabilities = ["concept-art"])]
pub async fn concept_artist(
    review: StoryReview,
    ctx: AgentContext,
) -> Result<ConceptBoard, AgentError> {
    let story = review.story;
    let sketches: ConceptSketches = ctx
        .model
        .ask(
            Prompt::new(
                CONCEPT_ARTIST_SYSTEM,
                format!(
                    "{}\n\nSynopsis:\n{}",
                    brief_text("Visual concepts", &story.brief),
                    story.synopsis
                ),
            )
            .temperature(0.9),
        )
        .await?;
    // The ids are the pick-one gate's choices: the code's, not the model's.
    let concepts = [
        sketches.concept_1,
        sketches.concept_2,
        sketches.concept_3,
        sketches.concept_4,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, sketch)| Concept {
        id: format!("concept-{}", i + 1),
        description: match one_line(&sketch) {
            blank if blank.is_empty() => format!("{} look #{}", story.brief.genre, i + 1),
            description => description,
        },
    })
    .collect();
    Ok(ConceptBoard { story, concepts })
}

const CHARACTER_DESIGNER_SYSTEM: &str = "\
You are the series' character designer. Design the main cast of the story below in the chosen \
visual concept: three to six characters, each with a name and one sentence giving their part \
in the story, their look in the concept's style, and what they want.";

#[derive(Debug, Deserialize, JsonShape)]
struct CastAnswer {
    characters: Vec<CharacterSketch>,
}

#[derive(Debug, Deserialize, JsonShape)]
struct CharacterSketch {
    name: String,
    description: String,
}

/// Designs the cast for the chosen concept and outlines the episodes.
#[agent(capabilities = ["character-design"])]
pub async fn character_designer(
    board: Approved<ConceptBoard>,
    ctx: AgentContext,
) -> Result<CastSheet, AgentError> {
    let concept =
        board.approval.choice.clone().ok_or_else(|| {
            AgentError::InvalidInput("the concept gate delivered no choice".into())
        })?;
    let look = board
        .subject
        .concepts
        .iter()
        .find(|c| c.id == concept)
        .map(|c| c.description.clone())
        .ok_or_else(|| {
            AgentError::InvalidInput(format!(
                "the chosen concept `{concept}` is not on the board"
            ))
        })?;
    let story = board.subject.story;
    let cast: CastAnswer = ctx
        .model
        .ask(
            Prompt::new(
                CHARACTER_DESIGNER_SYSTEM,
                format!(
                    "{}\nVisual concept: {look}\n\n{}",
                    brief_text("Cast", &story.brief),
                    story_text(&story)
                ),
            )
            .temperature(0.7),
        )
        .await?;
    let characters = tidy(
        cast.characters
            .into_iter()
            .filter(|c| !c.name.trim().is_empty())
            .map(|c| format!("{}: {}", one_line(&c.name), one_line(&c.description)))
            .collect(),
        MAX_CHARACTERS,
    );
    if characters.is_empty() {
        return Err(AgentError::Permanent(
            "the character designer's answer names no character".into(),
        ));
    }
    Ok(CastSheet {
        title: story.brief.title.clone(),
        episodes: (1..=story.brief.episodes)
            .map(|n| EpisodeOutline {
                number: n,
                title: format!("{} — part {n}", story.brief.title),
                concept: concept.clone(),
                look: look.clone(),
                premise: story.synopsis.clone(),
                characters: characters.clone(),
            })
            .collect(),
        characters,
        concept,
    })
}

const EPISODE_WRITER_SYSTEM: &str = "\
You are a television writer. Write the scene list of one episode of the series below: four to \
eight scenes in order, one or two sentences each, saying where it happens, who is in it and what \
changes. The episode moves the series' story on as its number suggests; use only the cast \
given, and stage it in the visual concept.";

#[derive(Debug, Deserialize, JsonShape)]
struct EpisodeAnswer {
    scenes: Vec<String>,
}

/// Writes one episode.
#[agent(capabilities = ["episode-writing"])]
pub async fn episode_writer(
    outline: EpisodeOutline,
    ctx: AgentContext,
) -> Result<EpisodeScript, AgentError> {
    let answer: EpisodeAnswer = ctx
        .model
        .ask(
            Prompt::new(
                EPISODE_WRITER_SYSTEM,
                format!(
                    "Episode {}: {}\nVisual concept: {}\n\nSeries premise:\n{}\n\nCast:\n{}",
                    outline.number,
                    outline.title,
                    outline.look,
                    outline.premise,
                    outline
                        .characters
                        .iter()
                        .map(|c| format!("- {c}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
            )
            .max_tokens(1024)
            .temperature(0.8),
        )
        .await?;
    let scenes = tidy(answer.scenes, MAX_SCENES);
    if scenes.is_empty() {
        return Err(AgentError::Permanent(format!(
            "the episode writer's answer for episode {} has no scenes",
            outline.number
        )));
    }
    Ok(EpisodeScript {
        number: outline.number,
        title: outline.title,
        scenes,
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

#[cfg(test)]
mod tests {
    use serde_json::json;
    use switchyard_sdk::ApprovalDecision;

    use super::*;
    use crate::scripted::{offline, with_model, ScriptedModel};

    fn brief() -> MovieBrief {
        MovieBrief {
            title: "Orbit".into(),
            logline: "Two rivals share a failing space station".into(),
            genre: "sci-fi".into(),
            episodes: 2,
        }
    }

    fn story(beats: usize, revision: u32) -> Story {
        Story {
            brief: brief(),
            synopsis: "Mara and Ilya keep the station alive.".into(),
            beats: (1..=beats).map(|i| format!("beat {i}")).collect(),
            revision,
        }
    }

    fn chose(board: ConceptBoard, choice: &str) -> Approved<ConceptBoard> {
        Approved {
            subject: board,
            approval: ApprovalDecision {
                decision: "approve".into(),
                approver: None,
                notes: None,
                choice: Some(choice.into()),
                auto_approved: false,
            },
        }
    }

    #[tokio::test]
    async fn offline_a_story_is_revised_once_then_approved_and_the_brief_survives() {
        let draft = story_writer(brief(), offline("write_story"))
            .await
            .expect("writes");
        assert_eq!((draft.brief.clone(), draft.revision), (brief(), 0));
        assert!(draft.beats.len() >= MIN_BEATS && !draft.synopsis.is_empty());
        let review = story_reviewer(draft, offline("review_story"))
            .await
            .expect("reviews");
        assert_eq!(
            review.verdict,
            StoryVerdict::NeedsRevision,
            "first drafts are revised"
        );
        assert!(!review.notes.is_empty());
        let revised = story_reviser(review, offline("revise_story"))
            .await
            .expect("revises");
        assert_eq!((revised.brief.clone(), revised.revision), (brief(), 1));
        let review = story_reviewer(revised, offline("review_story"))
            .await
            .expect("reviews");
        assert_eq!(review.verdict, StoryVerdict::Approved);
        assert!(review.notes.is_empty());
    }

    #[tokio::test]
    async fn the_editor_sends_a_revised_story_back_when_the_model_says_so() {
        let model = ScriptedModel::answering(json!({
            "verdict": "needs_revision",
            "notes": ["Give the midpoint real stakes", " ", "give the midpoint real stakes"],
        }));
        let review = story_reviewer(story(4, 1), with_model("review_story", model.clone()))
            .await
            .expect("reviews");
        assert_eq!(review.verdict, StoryVerdict::NeedsRevision);
        assert_eq!(review.notes, ["Give the midpoint real stakes"]);
        assert_eq!(review.story, story(4, 1));
        assert!(model.user_prompts()[0].contains("4. beat 4"));
    }

    #[tokio::test]
    async fn an_approval_does_not_pass_a_story_without_enough_beats() {
        let model = ScriptedModel::answering(json!({ "verdict": "approved", "notes": [] }));
        let review = story_reviewer(story(2, 1), with_model("review_story", model))
            .await
            .expect("reviews");
        assert_eq!(review.verdict, StoryVerdict::NeedsRevision);
        assert!(review.notes[0].contains("at least 3"), "{:?}", review.notes);
    }

    #[tokio::test]
    async fn concepts_keep_the_gates_ids_and_the_chosen_one_reaches_every_episode() {
        let review = StoryReview {
            story: story(4, 1),
            verdict: StoryVerdict::Approved,
            notes: vec![],
        };
        let board = concept_artist(review, offline("concepts"))
            .await
            .expect("sketches");
        let ids: Vec<&str> = board.concepts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["concept-1", "concept-2", "concept-3", "concept-4"]);
        let look = board.concepts[1].description.clone();
        let cast = character_designer(chose(board.clone(), "concept-2"), offline("characters"))
            .await
            .expect("casts");
        assert_eq!(
            (cast.title.as_str(), cast.concept.as_str()),
            ("Orbit", "concept-2")
        );
        assert!(!cast.characters.is_empty());
        assert_eq!(cast.episodes.len(), 2);
        for (n, episode) in (1..).zip(&cast.episodes) {
            assert_eq!(episode.number, n);
            assert_eq!(
                (episode.concept.as_str(), episode.look.as_str()),
                ("concept-2", look.as_str())
            );
            assert_eq!(episode.characters, cast.characters);
        }
        let script = episode_writer(cast.episodes[1].clone(), offline("write_episode"))
            .await
            .expect("writes");
        assert_eq!(
            (script.number, script.title.as_str()),
            (2, "Orbit — part 2")
        );
        assert!(!script.scenes.is_empty());
        assert!(matches!(
            character_designer(chose(board, "concept-9"), offline("characters")).await,
            Err(AgentError::InvalidInput(_))
        ));
    }

    #[tokio::test]
    async fn a_cast_or_episode_the_model_leaves_empty_is_refused() {
        let review = StoryReview {
            story: story(4, 1),
            verdict: StoryVerdict::Approved,
            notes: vec![],
        };
        let board = concept_artist(review, offline("concepts"))
            .await
            .expect("sketches");
        let nobody = ScriptedModel::answering(json!({
            "characters": [{ "name": " ", "description": "a shadow" }],
        }));
        assert!(matches!(
            character_designer(chose(board, "concept-1"), with_model("characters", nobody)).await,
            Err(AgentError::Permanent(_))
        ));
        let outline = EpisodeOutline {
            number: 1,
            title: "Orbit — part 1".into(),
            concept: "concept-1".into(),
            look: "cold blues".into(),
            premise: "p".into(),
            characters: vec!["Mara: engineer".into()],
        };
        let blank = ScriptedModel::answering(json!({ "scenes": ["", "  "] }));
        assert!(matches!(
            episode_writer(outline, with_model("write_episode", blank)).await,
            Err(AgentError::Permanent(_))
        ));
    }
}
